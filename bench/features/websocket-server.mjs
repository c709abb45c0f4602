// The keyhole proxy of bench/features.mjs's WebSocket rows (5c, 5d), in a process of its own,
// wired as `keyhole serve` wires it (packages/cli/src/server.ts): one engine's options give both
// `createUpgradeHandler` (the server's `upgrade` event, open-mode paths `/http|https/host:port/...`)
// and `createProxy` for the forward proxy attached to the same server with a keyhole CA, whose
// CONNECT tunnels take WebSocket upgrades too (`upgrade:` the same handler). Engine defaults
// otherwise (scrub: true, so every frame from the upstream is searched for the grant's secrets).
// The upgrade handler and the forwarder trust the upstream's test certificate. Forked with a JSON
// config { keyFile, issuerFile, certFile, caFile, scrub? }; sends { port }.
// IPC: { op: 'stats' } -> { cpu, memory }, { op: 'exit' }.
import { readFileSync } from 'node:fs'
import http from 'node:http'

const config = JSON.parse(process.argv[2])
const { createKeyring, createProxy } = await import('@keyhole/core')
const {
  attachForwardProxy,
  createNodeForwarder,
  createNodeOpener,
  createUpgradeHandler,
  loadCertificateAuthority,
} = await import('@keyhole/core/node')

const cert = readFileSync(config.certFile)
const opener = createNodeOpener({
  keyring: createKeyring([JSON.parse(readFileSync(config.keyFile, 'utf8'))]),
  issuers: [JSON.parse(readFileSync(config.issuerFile, 'utf8'))],
})
const engineOptions = {
  opener,
  forward: createNodeForwarder({ agent: { ca: cert } }),
  scrub: config.scrub !== false,
}
const upgrade = createUpgradeHandler(engineOptions, { ca: cert })
const ca = await loadCertificateAuthority(JSON.parse(readFileSync(config.caFile, 'utf8')))

const server = http.createServer((_req, res) => {
  res.writeHead(404, { 'content-length': 0 })
  res.end()
})
server.keepAliveTimeout = 60_000
attachForwardProxy(server, { handler: createProxy(engineOptions), ca, nodeBody: true, upgrade })
server.on('upgrade', (req, socket, head) => {
  if (/^\/https?\//i.test(req.url ?? '')) upgrade(req, socket, head)
  else socket.destroy()
})
const port = await new Promise((resolve) =>
  server.listen(0, '127.0.0.1', () => resolve(server.address().port)),
)

process.send({ port })
process.on('disconnect', () => process.exit(0))
process.on('message', (message) => {
  if (message.op === 'exit') process.exit(0)
  const m = process.memoryUsage()
  process.send({ id: message.id, cpu: process.cpuUsage(), memory: { rss: m.rss, heapUsed: m.heapUsed } })
})
