// The loopback TLS fixture (TEST ONLY): a certificate for IP:127.0.0.1 and DNS:upstream.test,
// so HTTPS upstreams and clients in tests use one pair instead of each reading it by path.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const path = (name: string) => fileURLToPath(new URL(`../proxy/fixtures/${name}`, import.meta.url))
const read = (name: string) => readFileSync(path(name), 'utf8')

/** The certificate and key of the loopback HTTPS fixture: pass as `startUpstream({ tls: localhostTls })`. */
export const localhostTls: { readonly key: string; readonly cert: string } = Object.freeze({
  key: read('localhost-key.pem'),
  cert: read('localhost-cert.pem'),
})

/**
 * The same pair's file paths, for processes a test spawns: `NODE_EXTRA_CA_CERTS: localhostTlsFiles.cert`
 * makes a child's outgoing TLS trust the loopback upstream.
 */
export const localhostTlsFiles: { readonly key: string; readonly cert: string } = Object.freeze({
  key: path('localhost-key.pem'),
  cert: path('localhost-cert.pem'),
})
