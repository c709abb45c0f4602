// The loopback TLS fixture (TEST ONLY): a certificate for IP:127.0.0.1 and DNS:upstream.test,
// so HTTPS upstreams and clients in tests use one pair instead of each reading it by path.
import { readFileSync } from 'node:fs'

const read = (name: string) => readFileSync(new URL(`../proxy/fixtures/${name}`, import.meta.url), 'utf8')

/** The certificate and key of the loopback HTTPS fixture: pass as `startUpstream({ tls: localhostTls })`. */
export const localhostTls: { readonly key: string; readonly cert: string } = Object.freeze({
  key: read('localhost-key.pem'),
  cert: read('localhost-cert.pem'),
})
