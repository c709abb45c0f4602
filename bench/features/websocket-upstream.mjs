// The WebSocket upstream of bench/features.mjs's rows 5c and 5d, in a process of its own: a `ws`
// WebSocketServer (no permessage-deflate, ws's server default) on a node:http and on a node:https
// server (the test certificate of packages/core/test/proxy/fixtures, for IP:127.0.0.1), both on
// 127.0.0.1. Forked; sends { port, tlsPort } over IPC once both listen.
//   /check  sends one text message saying what the handshake carried (by name only: the values
//           would be scrubbed on the way back), then closes
//   any other path echoes every message as it came (text stays text)
// IPC: { op: 'stats' } -> { handshakes }, { op: 'exit' }.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { WebSocketServer } from 'ws'

const fixture = (name) =>
  readFileSync(new URL(`../../packages/core/test/proxy/fixtures/${name}`, import.meta.url))
const notFound = (_req, res) => {
  res.writeHead(404, { 'content-length': 0 })
  res.end()
}
let handshakes = 0

function echo(server) {
  const wss = new WebSocketServer({ server, perMessageDeflate: false })
  wss.on('connection', (socket, req) => {
    handshakes++
    if (req.url.split('?')[0] === '/check') {
      const h = req.headers
      socket.send(
        JSON.stringify({
          scheme: String(h.authorization ?? '').split(' ')[0],
          token: h['x-keyhole-token'] !== undefined,
          proxyAuthorization: h['proxy-authorization'] !== undefined,
          extensions: h['sec-websocket-extensions'] ?? null,
        }),
      )
      socket.close()
      return
    }
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
  })
}

const plain = http.createServer(notFound)
const secure = https.createServer(
  { key: fixture('localhost-key.pem'), cert: fixture('localhost-cert.pem') },
  notFound,
)
echo(plain)
echo(secure)
const listen = (s) => new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s.address().port)))
const [port, tlsPort] = await Promise.all([listen(plain), listen(secure)])
process.send({ port, tlsPort })
process.on('disconnect', () => process.exit(0))
process.on('message', (message) => {
  if (message.op === 'exit') process.exit(0)
  process.send({ id: message.id, handshakes })
})
