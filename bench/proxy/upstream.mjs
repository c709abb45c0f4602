// The upstream every proxy in bench/proxy.mjs forwards to, in a process of its own: a minimal
// node:http server with keep-alive. Forked; sends { port } over IPC once listening.
//   GET  /big?bytes=N  streams N bytes (64 KiB chunks, honouring backpressure)
//   POST /sink         reads the whole body, answers {"bytes": N}
//   anything else      a small fixed JSON body (what an API answer looks like)
import http from 'node:http'

const SMALL = Buffer.from(JSON.stringify({ id: 'item_0123456789', object: 'item', ok: true, n: 42 }))
const CHUNK = Buffer.alloc(64 * 1024, 'x')

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url.startsWith('/sink')) {
    let bytes = 0
    req.on('data', (chunk) => {
      bytes += chunk.length
    })
    req.on('end', () => {
      const body = JSON.stringify({ bytes })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
    return
  }
  if (req.url.startsWith('/big')) {
    let left = Number(new URL(req.url, 'http://x').searchParams.get('bytes'))
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left })
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
  // Drain any body so the connection can be reused.
  req.resume()
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': SMALL.length })
  res.end(SMALL)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
// Exit with the bench (its IPC channel closes when it ends, even when it is killed).
process.on('disconnect', () => process.exit(0))
process.on('message', (message) => {
  if (message.op === 'exit') process.exit(0)
})
