import { X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import net, { type AddressInfo } from 'node:net'
import tls from 'node:tls'
import { describe, expect, it } from 'vitest'
import { isKeyholeError } from '../../errors.js'
import { createCertificateAuthority, loadCertificateAuthority } from './certificate-authority.js'

const HOUR = 60 * 60 * 1000

// A TLS server on 127.0.0.1 that presents the CA's leaf for `host`; resolves to what a client
// that trusts only the CA saw.
async function handshake(
  ca: Awaited<ReturnType<typeof createCertificateAuthority>>,
  host: string,
  servername: string | undefined,
  trust: string = ca.certificate,
): Promise<{ ok: true } | { ok: false; code: string }> {
  const context = await ca.secureContext(host)
  const server = net.createServer((raw) => {
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: context })
    socket.on('error', () => {})
    socket.once('secure', () => socket.end())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  try {
    return await new Promise((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        ca: trust,
        ...(servername === undefined ? {} : { servername }),
        checkServerIdentity: (_name, cert) => tls.checkServerIdentity(servername ?? '127.0.0.1', cert),
      })
      socket.once('secureConnect', () => {
        socket.destroy()
        resolve({ ok: true })
      })
      socket.once('error', (error: NodeJS.ErrnoException) =>
        resolve({ ok: false, code: error.code ?? error.message }),
      )
    })
  } finally {
    server.close()
  }
}

describe('certificate authority', () => {
  it('creates a P-256 CA certificate that is a CA and nothing else', async () => {
    const ca = await createCertificateAuthority({ commonName: 'test CA' })
    const cert = new X509Certificate(ca.certificate)
    expect(cert.ca).toBe(true)
    expect(cert.subject).toBe('CN=test CA')
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(cert.checkIssued(cert)).toBe(true)
    const json = ca.toJSON()
    expect(json.key).toMatchObject({ kty: 'EC', crv: 'P-256' })
    expect(typeof json.key.d).toBe('string')
  })

  it('issues leaves for a DNS name and for IP literals that verify against the CA and last at most 24 h', async () => {
    const ca = await createCertificateAuthority()
    const root = new X509Certificate(ca.certificate)
    for (const [host, san] of [
      ['api.example.com', 'DNS:api.example.com'],
      ['127.0.0.1', 'IP Address:127.0.0.1'],
      ['[::1]', 'IP Address:0:0:0:0:0:0:0:1'],
    ] as const) {
      const leaf = new X509Certificate(await ca.leafCertificate(host))
      expect(leaf.subjectAltName).toBe(san)
      expect(leaf.ca).toBe(false)
      expect(leaf.checkIssued(root)).toBe(true)
      expect(leaf.verify(root.publicKey)).toBe(true)
      const lifetime = Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)
      expect(lifetime).toBeLessThanOrEqual(24 * HOUR)
      expect(Date.parse(leaf.validFrom)).toBeLessThanOrEqual(Date.now())
    }
  })

  it('passes a real TLS handshake for the right name and fails it for another name or another CA', async () => {
    const ca = await createCertificateAuthority()
    expect(await handshake(ca, 'api.example.com', 'api.example.com')).toEqual({ ok: true })
    expect(await handshake(ca, '127.0.0.1', undefined)).toEqual({ ok: true })
    const wrongName = await handshake(ca, 'api.example.com', 'other.example.com')
    expect(wrongName).toMatchObject({ ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
    const other = await createCertificateAuthority()
    const wrongCa = await handshake(ca, 'api.example.com', 'api.example.com', other.certificate)
    expect(wrongCa.ok).toBe(false)
  })

  it('caches leaves per host, bounded, and renews one before it expires', async () => {
    let now = Date.now()
    const ca = await createCertificateAuthority({ maxLeaves: 2, now: () => now })
    const first = await ca.leafCertificate('a.example.com')
    expect(await ca.leafCertificate('a.example.com')).toBe(first)
    const [x, y] = await Promise.all([ca.secureContext('c.example.com'), ca.secureContext('c.example.com')])
    expect(x).toBe(y)
    await ca.leafCertificate('b.example.com')
    await ca.leafCertificate('c.example.com')
    // a was the least recently used of three with room for two: issued again.
    expect(await ca.leafCertificate('a.example.com')).not.toBe(first)
    const current = await ca.leafCertificate('a.example.com')
    now += 17 * HOUR
    expect(await ca.leafCertificate('a.example.com')).toBe(current)
    now += 2 * HOUR
    const renewed = new X509Certificate(await ca.leafCertificate('a.example.com'))
    expect(renewed.toString()).not.toBe(new X509Certificate(current).toString())
    expect(Date.parse(renewed.validTo)).toBeGreaterThan(now + 20 * HOUR)
  })

  it("round-trips through JSON and refuses a key that is not the certificate's", async () => {
    const ca = await createCertificateAuthority()
    const loaded = await loadCertificateAuthority(JSON.stringify(ca.toJSON()))
    expect(loaded.certificate).toBe(ca.certificate)
    const leaf = new X509Certificate(await loaded.leafCertificate('x.example.com'))
    expect(leaf.verify(new X509Certificate(ca.certificate).publicKey)).toBe(true)

    const other = await createCertificateAuthority()
    const mixed = { cert: ca.certificate, key: other.toJSON().key }
    const error = await loadCertificateAuthority(mixed).catch((e: unknown) => e)
    expect(isKeyholeError(error, 'invalid_key')).toBe(true)
    expect(String((error as Error).message)).not.toContain(String(other.toJSON().key.d))
    for (const bad of ['not json', '{}', JSON.stringify({ cert: 'x', key: {} })]) {
      expect(
        isKeyholeError(await loadCertificateAuthority(bad).catch((e: unknown) => e), 'invalid_key'),
      ).toBe(true)
    }
  })
})
