// The keyhole proxy of bench/features.mjs, in a process of its own: the real engine (`keyhole()`
// of @keyhole/hono/node, i.e. createProxy) with createNodeOpener and createNodeForwarder, on
// @hono/node-server, every engine sharing one opener and one forwarder. Forked with a JSON config:
//   { keyFile, issuerFile, certFile, caFile?, mounts: [{ path, scrub }], newHostForward? }
// - each mount is `app.all('/<path>/*', keyhole({ opener, forward, scrub, injectors }))` (open
//   mode: /<path>/<scheme>/<host:port>/<path...>), with @keyhole/aws's awsSigV4Injector given to
//   the opener and every engine;
// - with caFile (a CertificateAuthority as JSON), the forward proxy is attached to the same
//   server (attachForwardProxy, TLS interception with that CA) and runs the FIRST mount's options;
// - with newHostForward, a second forward-proxy server (same CA) whose engine resolves any
//   *.bench.test name to 127.0.0.1 and does not check the upstream certificate's name, so every
//   new name costs the proxy a new leaf certificate while the upstream stays the same.
// The forwarder trusts the upstream's test certificate (agent { ca }). Sends { port, newHostPort }.
// IPC: { op: 'stats' } -> { cpu, memory }, { op: 'gc' }, { op: 'exit' }.
import { lookup as dnsLookup } from 'node:dns'
import { readFileSync } from 'node:fs'
import http from 'node:http'

const config = JSON.parse(process.argv[2])
const { createAdaptorServer } = await import('@hono/node-server')
const { Hono } = await import('hono')
const { createKeyring, createProxy } = await import('@keyhole/core')
const { attachForwardProxy, createNodeForwarder, createNodeOpener, loadCertificateAuthority } = await import(
  '@keyhole/core/node'
)
const { keyhole } = await import('@keyhole/hono/node')
const { awsSigV4Injector } = await import('@keyhole/aws')

const injectors = [awsSigV4Injector]
const cert = readFileSync(config.certFile)
const opener = createNodeOpener({
  keyring: createKeyring([JSON.parse(readFileSync(config.keyFile, 'utf8'))]),
  issuers: [JSON.parse(readFileSync(config.issuerFile, 'utf8'))],
  injectors,
})
const forward = createNodeForwarder({ agent: { ca: cert } })
const app = new Hono()
for (const mount of config.mounts) {
  app.all(`/${mount.path}/*`, keyhole({ opener, forward, scrub: mount.scrub, injectors }))
}
const server = createAdaptorServer({ fetch: app.fetch })
server.keepAliveTimeout = 60_000
const ca = config.caFile
  ? await loadCertificateAuthority(JSON.parse(readFileSync(config.caFile, 'utf8')))
  : undefined
if (ca) {
  const handler = createProxy({ opener, forward, scrub: config.mounts[0].scrub, injectors })
  attachForwardProxy(server, { handler, ca, nodeBody: true })
}
const listen = (s) => new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s.address().port)))
const port = await listen(server)

let newHostPort
if (config.newHostForward && ca) {
  const lookup = (hostname, options, callback) => {
    if (!hostname.endsWith('.bench.test')) return dnsLookup(hostname, options, callback)
    if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }])
    else callback(null, '127.0.0.1', 4)
  }
  const newHostForwarder = createNodeForwarder({
    agent: { ca: cert, checkServerIdentity: () => undefined },
    lookup,
    allowPrivateAddresses: true,
  })
  const handler = createProxy({
    opener,
    forward: newHostForwarder,
    allowPrivateAddresses: true,
    injectors,
  })
  const other = http.createServer((_req, res) => {
    res.statusCode = 404
    res.end()
  })
  other.keepAliveTimeout = 60_000
  attachForwardProxy(other, { handler, ca, nodeBody: true })
  newHostPort = await listen(other)
}

process.send({ port, newHostPort })
process.on('disconnect', () => process.exit(0))
process.on('message', (message) => {
  if (message.op === 'exit') {
    server.closeAllConnections?.()
    process.exit(0)
  }
  if (message.op === 'gc' && globalThis.gc) {
    globalThis.gc()
    globalThis.gc()
  }
  const m = process.memoryUsage()
  process.send({ id: message.id, cpu: process.cpuUsage(), memory: { rss: m.rss, heapUsed: m.heapUsed } })
})
