// The upstream of bench/features.mjs, in a process of its own: one node:http server and one
// node:https server (the test certificate of packages/core/test/proxy/fixtures, for IP:127.0.0.1
// and DNS:upstream.test) on 127.0.0.1, with keep-alive, sharing one handler. Forked; sends
// { port, httpsPort } over IPC once both listen.
//   POST /token        an OAuth 2 token endpoint (client credentials): a fixed access token, 1 h
//   GET  /big?bytes=N  streams N bytes of JSON-like text (64 KiB chunks, honouring backpressure)
//   GET  /sse?events=N an event stream: one event every 50 ms carrying its send time
//                      (performance.timeOrigin + performance.now(), ms), then the end
//   ANY  /check        which credentials arrived, by name only (the values would be scrubbed)
//   anything else      drains the body, answers a small fixed JSON body (an API answer)
// IPC: { op: 'stats' } -> { tokenRequests }, { op: 'exit' }.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'

const fixture = (name) =>
  readFileSync(new URL(`../../packages/core/test/proxy/fixtures/${name}`, import.meta.url))
const SMALL = Buffer.from(JSON.stringify({ id: 'item_0123456789', object: 'item', ok: true, n: 42 }))
// Text that looks like an API body (no secret in it), so the scrubber searches real-looking bytes.
const CHUNK = Buffer.alloc(64 * 1024)
{
  let at = 0
  for (let i = 0; at < CHUNK.length; i++) {
    const line = Buffer.from(
      `{"id":"evt_${((i * 2654435761) >>> 0).toString(36)}","sha":"${((i * 40503) >>> 0).toString(16).padStart(8, '0').repeat(4)}","text":"The quick brown fox jumps over the lazy dog 0123456789"}\n`,
    )
    at += line.copy(CHUNK, at)
  }
}
let tokenRequests = 0
const now = () => performance.timeOrigin + performance.now()

function handler(req, res) {
  const path = req.url.split('?')[0]
  if (req.method === 'POST' && path === '/token') {
    tokenRequests++
    req.resume()
    req.on('end', () => {
      const body = JSON.stringify({
        access_token: 'at_BENCH_ACCESSTOKEN_0123456789',
        token_type: 'Bearer',
        expires_in: 3600,
      })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
    return
  }
  if (path === '/big') {
    let left = Number(new URL(req.url, 'http://x').searchParams.get('bytes'))
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': left })
    const write = () => {
      while (left > 0) {
        const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left)
        left -= chunk.length
        if (!res.write(chunk)) {
          res.once('drain', write)
          return
        }
      }
      res.end()
    }
    write()
    return
  }
  if (path === '/sse') {
    const events = Number(new URL(req.url, 'http://x').searchParams.get('events') ?? 20)
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    let sent = 0
    const timer = setInterval(() => {
      res.write(`data: {"n":${sent},"t":${now()}}\n\n`)
      if (++sent === events) {
        clearInterval(timer)
        res.end()
      }
    }, 50)
    res.on('close', () => clearInterval(timer))
    return
  }
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    if (path === '/check') {
      const body = Buffer.concat(chunks).toString()
      const h = req.headers
      const answer = JSON.stringify({
        scheme: String(h.authorization ?? '').split(' ')[0],
        signature: h['x-signature'] !== undefined,
        amzDate: h['x-amz-date'] !== undefined,
        bodyKey: body.includes('"api_key":"sk_'),
        proof: h['keyhole-proof'] !== undefined,
        token: h['x-keyhole-token'] !== undefined,
        bytes: body.length,
      })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) })
      res.end(answer)
      return
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': SMALL.length })
    res.end(SMALL)
  })
}

const plain = http.createServer(handler)
const secure = https.createServer(
  { key: fixture('localhost-key.pem'), cert: fixture('localhost-cert.pem') },
  handler,
)
for (const s of [plain, secure]) s.keepAliveTimeout = 60_000
const listen = (s) => new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s.address().port)))
const [port, httpsPort] = await Promise.all([listen(plain), listen(secure)])
process.send({ port, httpsPort })
process.on('disconnect', () => process.exit(0))
process.on('message', (message) => {
  if (message.op === 'exit') process.exit(0)
  process.send({ id: message.id, tokenRequests })
})
