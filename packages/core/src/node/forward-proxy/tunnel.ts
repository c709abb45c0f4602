import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { SecureContext, TLSSocket } from 'node:tls'
import { isIPv4, normalizeHost } from '../../policy/normalize-host.js'
import type { Target } from '../../policy/target.js'
import type { CertificateAuthority } from '../ca/certificate-authority.js'

/** What one accepted CONNECT carries for every request inside it. */
export interface Tunnel {
  /** The CONNECT authority as an HTTPS origin: every request inside goes there. */
  readonly origin: Target
  /** The token chosen for that origin at CONNECT time. */
  readonly token: string
}

// Without SNI, a tunnel to a host name is handed this context: it holds no certificate, so the
// handshake fails rather than presenting a certificate the client did not ask for by name.
let noCertificate: SecureContext | undefined

function isIpLiteral(host: string): boolean {
  return host.startsWith('[') || isIPv4(host)
}

/** True when the TLS server name the client sent is acceptable for the tunnel's host. */
function serverNameMatches(host: string, servername: string | false | null | undefined): boolean {
  if (!servername) return isIpLiteral(host)
  return normalizeHost(servername) === host
}

/**
 * Answers an accepted CONNECT with `200 Connection Established` and terminates TLS on the
 * socket with a leaf certificate for the CONNECT host. The server name (SNI) must equal that
 * host — absent only when the host is an IP literal — or the handshake fails. Resolves to the
 * decrypted socket once the handshake is done, or to `undefined` when it failed (the socket is
 * then destroyed). The certificate is issued before the 200 goes out, so a CA failure is still
 * an ordinary error answer.
 */
export async function openTunnel(
  socket: Duplex,
  head: Buffer,
  host: string,
  ca: CertificateAuthority,
  handshakeTimeoutMs: number,
): Promise<TLSSocket | undefined> {
  const context = await ca.secureContext(host)
  if (socket.destroyed) return undefined
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
  // Bytes the client sent after the CONNECT head (an eager ClientHello) belong to the TLS stream.
  if (head.length > 0) socket.unshift(head)
  // node:tls is loaded with the first tunnel, not when the module is imported.
  const { createSecureContext, TLSSocket } = process.getBuiltinModule('node:tls')
  noCertificate ??= createSecureContext({})
  const tls = new TLSSocket(socket as Socket, {
    isServer: true,
    ALPNProtocols: ['http/1.1'],
    secureContext: isIpLiteral(host) ? context : noCertificate,
    SNICallback(servername, callback) {
      if (serverNameMatches(host, servername)) callback(null, context)
      else callback(new Error('the TLS server name is not the CONNECT host'))
    },
  })
  return new Promise((resolve) => {
    const timer = setTimeout(() => fail(), handshakeTimeoutMs)
    timer.unref()
    const fail = () => {
      clearTimeout(timer)
      tls.destroy()
      socket.destroy()
      resolve(undefined)
    }
    tls.once('error', fail)
    tls.once('close', fail)
    tls.once('secure', () => {
      clearTimeout(timer)
      tls.off('error', fail)
      tls.off('close', fail)
      // Checked again after the handshake: whatever path led here, the name must be the host's.
      const servername = (tls as unknown as { servername?: string | false }).servername
      if (!serverNameMatches(host, servername)) {
        fail()
        return
      }
      tls.on('error', () => tls.destroy())
      resolve(tls)
    })
  })
}
