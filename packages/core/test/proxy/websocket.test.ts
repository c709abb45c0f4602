// WebSocket upgrades end to end: a `ws` client, a node:http server with createUpgradeHandler, a
// `ws` echo server on 127.0.0.1 that also sends back the Authorization header it received.
import { randomBytes } from 'node:crypto'
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { createProof, generateProofKey, type ProofKey } from '../../../client/src/index.js'
import { generateKey } from '../../src/keys/generate-key.js'
import { createKeyring, type Keyring } from '../../src/keys/keyring.js'
import { mint } from '../../src/mint.js'
import type { Lookup } from '../../src/node/guarded-lookup.js'
import { createNodeForwarder } from '../../src/node/node-forwarder.js'
import {
  createUpgradeHandler,
  type UpgradeHandler,
  type UpgradeHandlerOptions,
} from '../../src/node/websocket/index.js'
import { createOpener } from '../../src/open/opener.js'
import type { ProxyOptions } from '../../src/pipeline/options.js'
import type { ProxyEvent } from '../../src/proxy/events.js'
import { testIssuer, testIssuers } from '../kit/issuer.js'

const SECRET = 'ghp_WEBSOCKETSECRET0123456789abcdef'
const MASKED = '*'.repeat(`Bearer ${SECRET}`.length)

interface Upstream {
  port: number
  /** Request headers of every handshake that reached the upstream (accepted or not). */
  handshakes: IncomingHttpHeaders[]
  /** Close codes the upstream's WebSocket ends have seen, by request path. */
  closes: Map<string, number>
  close(): Promise<void>
}

/**
 * The upstream: `/refuse` answers the handshake 403 with the credential in a header and the
 * body; anything else is a `ws` echo server whose first message is the Authorization it got.
 */
async function startUpstream(): Promise<Upstream> {
  const handshakes: IncomingHttpHeaders[] = []
  const closes = new Map<string, number>()
  const wss = new WebSocketServer({ noServer: true })
  wss.on('connection', (socket, req: IncomingMessage) => {
    socket.send(req.headers.authorization ?? '(none)')
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
    socket.on('close', (code) => closes.set(req.url ?? '', code))
  })
  const server = http.createServer((_req, res) => {
    res.statusCode = 404
    res.end()
  })
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    handshakes.push(req.headers)
    if (req.url?.startsWith('/refuse')) {
      const body = `no: ${req.headers.authorization}`
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nx-echo: ${req.headers.authorization}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      )
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    handshakes,
    closes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

interface Proxy {
  port: number
  close(): Promise<void>
}

async function startProxy(onUpgrade: UpgradeHandler): Promise<Proxy> {
  const server = http.createServer((_req, res) => {
    res.statusCode = 404
    res.end()
  })
  server.on('upgrade', (req, socket, head) => onUpgrade(req, socket, head))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

type Opened =
  | { ok: true; ws: WebSocket; messages: { data: Buffer; binary: boolean }[]; next(): Promise<Buffer> }
  | { ok: false; status: number; headers: IncomingHttpHeaders; body: string }

/** Opens a WebSocket through the proxy; resolves with it, or with the response that refused it. */
function connect(url: string, headers: Record<string, string>): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    const messages: { data: Buffer; binary: boolean }[] = []
    const waiting: ((data: Buffer) => void)[] = []
    ws.on('message', (data: Buffer, binary) => {
      const waiter = waiting.shift()
      if (waiter) waiter(data)
      else messages.push({ data, binary })
    })
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        resolve({
          ok: false,
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        })
        ws.terminate()
      })
    })
    ws.on('open', () =>
      resolve({
        ok: true,
        ws,
        messages,
        next: () =>
          new Promise<Buffer>((done) => {
            const queued = messages.shift()
            if (queued) done(queued.data)
            else waiting.push(done)
          }),
      }),
    )
    ws.on('error', reject)
  })
}

function closed(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve()
    else ws.once('close', () => resolve())
  })
}

let upstream: Upstream
let keyring: Keyring
let opener: ReturnType<typeof createOpener>
let token: string
let proxy: Proxy
let base: string
const events: ProxyEvent[] = []
const started: Proxy[] = []
const forward = createNodeForwarder()

function grantFor(hosts: string[], extra: Record<string, unknown> = {}): Promise<string> {
  return mint(
    {
      hosts,
      inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }],
      ttl: '10m',
      ...extra,
    },
    { to: keyring.publicJwks(), signWith: testIssuer },
  )
}

async function proxyWith(
  options: Partial<ProxyOptions>,
  lookup?: Lookup,
  upgradeOptions: UpgradeHandlerOptions = {},
): Promise<string> {
  const server = await startProxy(
    createUpgradeHandler(
      { opener, forward, timeout: '5s', ...options },
      { ...upgradeOptions, ...(lookup && { lookup }) },
    ),
  )
  started.push(server)
  return `ws://127.0.0.1:${server.port}`
}

beforeAll(async () => {
  upstream = await startUpstream()
  keyring = createKeyring([await generateKey()])
  opener = createOpener({ keyring, issuers: testIssuers })
  token = await grantFor([`http://127.0.0.1:${upstream.port}`])
  proxy = await startProxy(
    createUpgradeHandler({ opener, forward, onEvent: (event) => void events.push(event) }),
  )
  started.push(proxy)
  base = `ws://127.0.0.1:${proxy.port}/http/127.0.0.1:${upstream.port}`
})

afterAll(async () => {
  await Promise.all(started.map((server) => server.close()))
  await upstream.close()
  forward.destroy()
})

describe('a WebSocket through the upgrade handler', () => {
  it('injects the credential, strips the token and extensions, and masks the echoed credential', async () => {
    const before = upstream.handshakes.length
    const opened = await connect(`${base}/echo?x=1`, { 'x-keyhole-token': token, 'keyhole-proof': 'p' })
    if (!opened.ok) throw new Error(`refused: ${opened.status} ${opened.body}`)
    const seen = upstream.handshakes[before] as IncomingHttpHeaders
    expect(seen.authorization).toBe(`Bearer ${SECRET}`)
    expect(seen['x-keyhole-token']).toBeUndefined()
    expect(seen['keyhole-proof']).toBeUndefined()
    // The ws client offers permessage-deflate by default; the upstream never sees the offer.
    expect(seen['sec-websocket-extensions']).toBeUndefined()
    expect(opened.ws.extensions).toBe('')
    expect((await opened.next()).toString()).toBe(MASKED)
    opened.ws.close()
    await closed(opened.ws)
  })

  it('echoes text and binary both ways, a 100 KB message included, and masks secrets in frames', async () => {
    const opened = await connect(`${base}/echo`, { authorization: `Bearer ${token}` })
    if (!opened.ok) throw new Error(`refused: ${opened.status}`)
    await opened.next() // the Authorization message
    opened.ws.send('hello')
    expect((await opened.next()).toString()).toBe('hello')
    const binary = randomBytes(1024)
    opened.ws.send(binary)
    expect(Buffer.compare(await opened.next(), binary)).toBe(0)
    const big = Buffer.alloc(100 * 1024, 0x61)
    big.write(SECRET, 50 * 1024)
    opened.ws.send(big)
    const echoed = await opened.next()
    expect(echoed.length).toBe(big.length)
    expect(echoed.includes(SECRET)).toBe(false)
    expect(echoed.subarray(50 * 1024, 50 * 1024 + SECRET.length).toString()).toBe('*'.repeat(SECRET.length))
    const large = randomBytes(100 * 1024)
    opened.ws.send(large)
    expect(Buffer.compare(await opened.next(), large)).toBe(0)
    opened.ws.send(`text with ${SECRET} inside`)
    expect((await opened.next()).toString()).toBe(`text with ${'*'.repeat(SECRET.length)} inside`)
    opened.ws.close()
    await closed(opened.ws)
    // One event per upgrade, once the connection is over, with the masked count.
    await new Promise((resolve) => setTimeout(resolve, 50))
    const event = events.at(-1) as ProxyEvent
    expect(event.outcome).toBe('ok')
    expect(event.status).toBe(101)
    expect(event.scrubbed).toBe(3)
  })

  it('refuses a missing or bad token with the JSON 401, without dialing', async () => {
    const before = upstream.handshakes.length
    const missing = await connect(`${base}/echo`, {})
    expect(missing.ok).toBe(false)
    if (missing.ok) return
    expect(missing.status).toBe(401)
    expect(missing.headers['x-keyhole-error']).toBe('missing_token')
    expect(missing.headers['www-authenticate']).toBe('Bearer')
    expect(JSON.parse(missing.body).error.code).toBe('missing_token')
    const bad = await connect(`${base}/echo`, { 'x-keyhole-token': `${token.slice(0, -4)}AAAA` })
    expect(bad.ok ? 0 : bad.status).toBe(401)
    expect(bad.ok ? '' : bad.headers['x-keyhole-error']).toBe('invalid_token')
    expect(upstream.handshakes.length).toBe(before)
  })

  it('refuses a host outside the grant with 403 host_not_allowed', async () => {
    const before = upstream.handshakes.length
    const other = await connect(`ws://127.0.0.1:${proxy.port}/http/127.0.0.1:1/echo`, {
      'x-keyhole-token': token,
    })
    expect(other.ok ? 0 : other.status).toBe(403)
    expect(other.ok ? '' : other.headers['x-keyhole-error']).toBe('host_not_allowed')
    expect(upstream.handshakes.length).toBe(before)
  })

  it('refuses a private address the signed grant does not name, at the policy and at the dial', async () => {
    const before = upstream.handshakes.length
    const local = await grantFor([`http://localhost:${upstream.port}`])
    const byName = await connect(`ws://127.0.0.1:${proxy.port}/http/localhost:${upstream.port}/echo`, {
      'x-keyhole-token': local,
    })
    expect(byName.ok ? 0 : byName.status).toBe(403)
    expect(byName.ok ? '' : byName.headers['x-keyhole-error']).toBe('host_not_allowed')

    // A public-looking name that resolves to 127.0.0.1: the guarded lookup refuses the dial.
    const rebinding: Lookup = (_host, options, callback) => {
      if ((options as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }])
      else (callback as (e: null, a: string, f: number) => void)(null, '127.0.0.1', 4)
    }
    const named = await grantFor([`http://ws.example.com:${upstream.port}`])
    const guarded = await proxyWith({}, rebinding)
    const dialed = await connect(`${guarded}/http/ws.example.com:${upstream.port}/echo`, {
      'x-keyhole-token': named,
    })
    expect(dialed.ok ? 0 : dialed.status).toBe(403)
    expect(dialed.ok ? '' : dialed.headers['x-keyhole-error']).toBe('host_not_allowed')
    expect(upstream.handshakes.length).toBe(before)

    // With the operator's allowPrivateAddresses both go through.
    const open = await proxyWith({ allowPrivateAddresses: true }, rebinding)
    for (const [host, grant] of [
      [`localhost:${upstream.port}`, local],
      [`ws.example.com:${upstream.port}`, named],
    ] as const) {
      const allowed = await connect(`${open}/http/${host}/echo`, { 'x-keyhole-token': grant })
      if (!allowed.ok) throw new Error(`refused: ${allowed.status} ${allowed.body}`)
      expect((await allowed.next()).toString()).toBe(MASKED)
      allowed.ws.close()
      await closed(allowed.ws)
    }
  })

  it('refuses a key-bound token without a proof with 401 invalid_proof, and takes one with it', async () => {
    const holder: ProofKey = await generateProofKey()
    const bound = await grantFor([`http://127.0.0.1:${upstream.port}`], { bindKey: holder.publicJwk })
    const before = upstream.handshakes.length
    const refused = await connect(`${base}/echo`, { 'x-keyhole-token': bound })
    expect(refused.ok ? 0 : refused.status).toBe(401)
    expect(refused.ok ? '' : refused.headers['x-keyhole-error']).toBe('invalid_proof')
    expect(upstream.handshakes.length).toBe(before)
    const proof = await createProof(holder, {
      method: 'GET',
      url: `http://127.0.0.1:${upstream.port}/echo`,
      token: bound,
    })
    const opened = await connect(`${base}/echo`, { 'x-keyhole-token': bound, 'keyhole-proof': proof })
    if (!opened.ok) throw new Error(`refused: ${opened.status} ${opened.body}`)
    expect(upstream.handshakes.at(-1)?.['keyhole-proof']).toBeUndefined()
    opened.ws.close()
    await closed(opened.ws)
  })

  it('relays an upstream that refuses the upgrade, headers and body scrubbed', async () => {
    const refused = await connect(`${base}/refuse`, { 'x-keyhole-token': token })
    expect(refused.ok).toBe(false)
    if (refused.ok) return
    expect(refused.status).toBe(403)
    expect(refused.headers['x-keyhole-error']).toBeUndefined()
    expect(refused.headers['x-echo']).toBe(MASKED)
    expect(refused.body).toBe(`no: ${MASKED}`)
  })

  it('answers 502 when the upstream cannot be reached', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = http.createServer()
      probe.listen(0, '127.0.0.1', () => {
        const port = (probe.address() as AddressInfo).port
        probe.close(() => resolve(port))
      })
    })
    const grant = await grantFor([`http://127.0.0.1:${closedPort}`])
    const gone = await connect(`ws://127.0.0.1:${proxy.port}/http/127.0.0.1:${closedPort}/echo`, {
      'x-keyhole-token': grant,
    })
    expect(gone.ok ? 0 : gone.status).toBe(502)
    expect(gone.ok ? '' : gone.headers['x-keyhole-error']).toBe('upstream_unreachable')
  })

  it('answers 504 when the upstream does not answer the handshake within the timeout', async () => {
    const silent = net.createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const silentPort = (silent.address() as AddressInfo).port
    try {
      const grant = await grantFor([`http://127.0.0.1:${silentPort}`])
      const quick = await proxyWith({ timeout: '200ms' })
      const late = await connect(`${quick}/http/127.0.0.1:${silentPort}/echo`, { 'x-keyhole-token': grant })
      expect(late.ok ? 0 : late.status).toBe(504)
      expect(late.ok ? '' : late.headers['x-keyhole-error']).toBe('upstream_timeout')
    } finally {
      silent.close()
    }
  })

  it('in gateway mode, dials the operator upstream with the path below the mount point', async () => {
    const gateway = await proxyWith({ upstream: `http://127.0.0.1:${upstream.port}` })
    const opened = await connect(`${gateway}/echo?room=1`, { 'x-keyhole-token': token })
    if (!opened.ok) throw new Error(`refused: ${opened.status} ${opened.body}`)
    expect((await opened.next()).toString()).toBe(MASKED)
    opened.ws.close()
    await closed(opened.ws)
  })

  describe('idle timeout', () => {
    const IDLE_MS = 300
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
    const closeOf = (ws: WebSocket) =>
      new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)))

    it('closes an upgraded connection that carries no frames either way after the idle timeout', async () => {
      const quick = await proxyWith({}, undefined, { idleTimeout: `${IDLE_MS}ms` })
      const opened = await connect(`${quick}/http/127.0.0.1:${upstream.port}/idle-quiet`, {
        'x-keyhole-token': token,
      })
      if (!opened.ok) throw new Error(`refused: ${opened.status} ${opened.body}`)
      const code = closeOf(opened.ws)
      expect((await opened.next()).toString()).toBe(MASKED) // the last bytes to go either way
      const quietSince = performance.now()
      // Dropped, not closed with a close frame: the proxy ends both connections.
      expect(await code).toBe(1006)
      const waited = performance.now() - quietSince
      expect(waited).toBeGreaterThanOrEqual(IDLE_MS - 20)
      expect(waited).toBeLessThan(IDLE_MS + 1000)
      // The upstream's end was closed as well.
      await vi.waitFor(() => expect(upstream.closes.get('/idle-quiet')).toBe(1006))
    })

    it('keeps a connection exchanging frames open well past the idle timeout', async () => {
      const quick = await proxyWith({}, undefined, { idleTimeout: `${IDLE_MS}ms` })
      const opened = await connect(`${quick}/http/127.0.0.1:${upstream.port}/idle-busy`, {
        'x-keyhole-token': token,
      })
      if (!opened.ok) throw new Error(`refused: ${opened.status} ${opened.body}`)
      await opened.next()
      const started = performance.now()
      // A message every third of the idle time, for four idle times.
      for (let i = 0; performance.now() - started < 4 * IDLE_MS; i++) {
        expect(opened.ws.readyState).toBe(WebSocket.OPEN)
        opened.ws.send(`tick ${i}`)
        expect((await opened.next()).toString()).toBe(`tick ${i}`)
        await sleep(IDLE_MS / 3)
      }
      // Pings (control frames) count as traffic too: the upstream's `ws` answers each with a pong.
      const pinged = performance.now()
      while (performance.now() - pinged < 2 * IDLE_MS) {
        opened.ws.ping()
        await sleep(IDLE_MS / 3)
      }
      expect(opened.ws.readyState).toBe(WebSocket.OPEN)
      opened.ws.send('still here')
      expect((await opened.next()).toString()).toBe('still here')
      const code = closeOf(opened.ws)
      opened.ws.close(1000)
      expect(await code).toBe(1000)
      await vi.waitFor(() => expect(upstream.closes.get('/idle-busy')).toBe(1000))
    })

    it('never closes an idle connection with idleTimeout 0, and refuses a malformed one at creation', async () => {
      const never = await proxyWith({}, undefined, { idleTimeout: 0 })
      const opened = await connect(`${never}/http/127.0.0.1:${upstream.port}/idle-never`, {
        'x-keyhole-token': token,
      })
      if (!opened.ok) throw new Error(`refused: ${opened.status} ${opened.body}`)
      await opened.next()
      await sleep(2 * IDLE_MS)
      expect(opened.ws.readyState).toBe(WebSocket.OPEN)
      opened.ws.close()
      await closed(opened.ws)
      expect(() => createUpgradeHandler({ opener, forward }, { idleTimeout: 'soon' })).toThrow(/durations/)
    })
  })
})
