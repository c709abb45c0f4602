// The baseline of bench/footprint.mjs: the smallest useful node:http server, answering
// GET /healthz with the same 200 and JSON body as keyhole serve. Started exactly as keyhole is
// (`node <file> --port N`, same node flags, same environment), and it prints nothing either.
import { createServer } from 'node:http'

const port = Number(process.argv[process.argv.indexOf('--port') + 1])
const body = JSON.stringify({ status: 'ok' })
const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  } else {
    res.writeHead(404).end()
  }
})
server.listen(port, '127.0.0.1')
const stop = () => server.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
