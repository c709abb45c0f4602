// The WebSocket client of bench/features.mjs's rows 5c and 5d (the `ws` package), in a process of
// its own so its CPU never shares the proxy's event loop. A side is { url, headers?, ca?, proxy? }
// (`ca`: the PEM a direct wss:// connection trusts); with proxy: { port, token, ca } the connection goes through a CONNECT tunnel to 127.0.0.1:port
// (Proxy-Authorization: Bearer token) and TLS inside it trusts `ca` (keyhole's CA), as a wss://
// client behind HTTPS_PROXY does. No permessage-deflate on any side. Forked; IPC ops:
//   'handshake' { side }: one upgrade; answers { status } (101, or the refusal's status) and, for
//               a 101, the first message as text (the upstream's /check report)
//   'rtt'       { a, b, bytes, messages, batch, budgetMs }: one connection per side, opened
//               before timing, then ping-pong of a `bytes`-long text message, awaited one at a
//               time; the sides alternate in blocks of `batch` messages (bench/lib/alternating.mjs:
//               A B B A ..., after 20 unrecorded warm-up blocks each), `messages` timed per side,
//               or fewer (blocks of 1, at least 30) when a probe says the run would overrun
//               `budgetMs`; answers each side's per-message round-trip quantiles, the medians of
//               the block means, the batch used and the messages each side sent in all
//   'setup'     { a, b, samples }: new connections, alternating one by one (after 20 unrecorded
//               each); each sample is the time from `new WebSocket()` to 'open' (TCP, [CONNECT,
//               TLS,] the upgrade and the 101); the close handshake that follows is not timed
// Latencies are in ms.
import http from 'node:http'
import net from 'node:net'
import tls from 'node:tls'
import WebSocket from 'ws'
import { alternating } from '../lib/alternating.mjs'

const WARM_BLOCKS = 20 // alternating()'s unrecorded warm-up samples per side
const PROBE = 30 // unrecorded round trips per side that size an 'rtt' run (their median: the first are cold)
const MIN_SAMPLES = 30 // timed messages per side however slow a round trip is

/** `createConnection` for ws: CONNECT to the proxy, then TLS inside the tunnel. */
function throughProxy(proxy) {
  return (options, callback) => {
    const authority = `${options.host}:${options.port}`
    const connect = http.request({
      host: '127.0.0.1',
      port: proxy.port,
      method: 'CONNECT',
      path: authority,
      agent: false,
      headers: { host: authority, 'proxy-authorization': `Bearer ${proxy.token}` },
    })
    connect.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy()
        callback(new Error(`CONNECT answered ${res.statusCode}`))
        return
      }
      // An IP-literal authority is sent without SNI; its certificate is checked against the IP.
      const servername = net.isIP(options.host) ? undefined : options.host
      callback(null, tls.connect({ socket, host: options.host, servername, ca: proxy.ca }))
    })
    connect.once('error', callback)
    connect.end()
  }
}

function open(side, path = '', onFirstMessage = undefined) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(side.url + path, {
      headers: side.headers ?? {},
      perMessageDeflate: false,
      ...(side.ca && { ca: side.ca }),
      ...(side.proxy && { createConnection: throughProxy(side.proxy) }),
    })
    // Listened to from the start: a message sent with the 101 may be emitted along with 'open'.
    if (onFirstMessage) ws.once('message', onFirstMessage)
    ws.once('open', () => resolve({ ws, status: 101 }))
    ws.once('unexpected-response', (req, res) => {
      res.resume()
      req.destroy()
      resolve({ ws: undefined, status: res.statusCode })
    })
    // Kept for the socket's life: an error after 'open' (or after a refusal) ends in 'close'.
    ws.on('error', reject)
  })
}

function close(ws) {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve()
    const timer = setTimeout(() => ws.terminate(), 2000)
    ws.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
    ws.close()
  })
}

async function handshake({ side }) {
  let onMessage
  const first = new Promise((resolve) => {
    onMessage = (data) => resolve(data.toString())
  })
  const { ws, status } = await open(side, '/check', onMessage)
  if (!ws) return { status }
  const message = await Promise.race([
    first,
    new Promise((_, reject) => ws.once('close', () => reject(new Error('closed before its first message')))),
  ])
  await close(ws)
  return { status, message }
}

/** One awaited round trip per call; every one's latency is pushed to `list`. */
function pinger(ws, payload, list) {
  let pending
  const settle = (error) => {
    const p = pending
    pending = undefined
    if (!p) return
    if (error) p.reject(error)
    else {
      list.push(performance.now() - p.t0)
      p.resolve()
    }
  }
  ws.on('message', (data) =>
    settle(data.length === payload.length ? undefined : new Error(`echo of ${data.length} bytes`)),
  )
  ws.on('close', (code) => settle(new Error(`connection closed (${code}) mid-run`)))
  ws.on('error', settle)
  return () =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject, t0: performance.now() }
      ws.send(payload)
    })
}

const quantiles = (list) => {
  const sorted = [...list].sort((x, y) => x - y)
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) }
}

async function rtt({ a, b, bytes, messages, batch, budgetMs }) {
  const payload = 'k'.repeat(bytes)
  const sockets = []
  try {
    for (const side of [a, b]) {
      const { ws, status } = await open(side, '/echo')
      if (!ws) throw new Error(`upgrade answered ${status}`)
      sockets.push(ws)
    }
    const lists = [[], []]
    const [pa, pb] = sockets.map((ws, i) => pinger(ws, payload, lists[i]))
    // A probe of each side sizes the run: when a round trip is so slow that the run would
    // overrun `budgetMs`, the blocks are single messages and there are fewer of them.
    for (let i = 0; i < PROBE; i++) {
      await pa()
      await pb()
    }
    const pair = quantiles(lists[0]).p50 + quantiles(lists[1]).p50
    for (const list of lists) list.length = 0
    let samples = Math.ceil(messages / batch)
    if ((samples + WARM_BLOCKS) * batch * pair > budgetMs) {
      batch = 1
      samples = Math.min(messages, Math.max(MIN_SAMPLES, Math.floor(budgetMs / pair) - WARM_BLOCKS))
    }
    const blocks = await alternating({ batch, fn: pa }, { batch, fn: pb }, samples)
    const [la, lb] = lists.map((list) => list.slice(WARM_BLOCKS * batch))
    return {
      a: quantiles(la),
      b: quantiles(lb),
      blocks: { a: blocks.a.median, b: blocks.b.median },
      batch,
      sent: PROBE + (samples + WARM_BLOCKS) * batch,
    }
  } finally {
    await Promise.all(sockets.map(close))
  }
}

async function setup({ a, b, samples }) {
  const lists = [[], []]
  const connect = (side, list) => async () => {
    const t0 = performance.now()
    const { ws, status } = await open(side, '/echo')
    if (!ws) throw new Error(`upgrade answered ${status}`)
    list.push(performance.now() - t0)
    await close(ws)
  }
  await alternating({ batch: 1, fn: connect(a, lists[0]) }, { batch: 1, fn: connect(b, lists[1]) }, samples)
  const [la, lb] = lists.map((list) => list.slice(WARM_BLOCKS))
  return { a: quantiles(la), b: quantiles(lb) }
}

const ops = { handshake, rtt, setup }

process.send({ ready: true })
process.on('disconnect', () => process.exit(0))
process.on('message', async (message) => {
  if (message.op === 'exit') process.exit(0)
  try {
    process.send({ id: message.id, result: await ops[message.op](message) })
  } catch (error) {
    process.send({ id: message.id, error: String(error?.stack ?? error) })
  }
})
