import type { Name } from '@peculiar/x509'
import { EC_P256, loadX509, toPem } from './x509.js'

/** The signing half of a CA, as {@link issueLeaf} needs it. */
export interface Issuer {
  readonly privateKey: CryptoKey
  readonly publicKey: CryptoKey
  /** The CA certificate's subject, which becomes every leaf's issuer name (kept as encoded, so chains match byte for byte). */
  readonly subject: Name
}

/** A leaf key pair shared by every leaf one CA instance issues (see {@link issueLeaf}). */
export interface LeafKey {
  readonly keys: CryptoKeyPair
  /** The private key as PKCS#8 PEM, for `tls.createSecureContext`. */
  readonly pem: string
}

/** Makes the key pair a CA instance puts in its leaves. */
export async function generateLeafKey(): Promise<LeafKey> {
  const keys = (await crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey)
  return { keys, pem: toPem(pkcs8, 'PRIVATE KEY') }
}

const IPV4 = /^(?:[0-9]{1,3}\.){3}[0-9]{1,3}$/
// A common name may hold at most 64 characters (RFC 5280 ub-common-name); the SAN is what
// clients check anyway, so a longer name simply goes without one.
const MAX_COMMON_NAME = 64

/**
 * Issues a TLS server certificate for one host, signed by the CA: SAN = the host (a DNS name,
 * or an IP address for an IPv4 literal or a bracketed IPv6 literal), `serverAuth` only, not a
 * CA, valid from `notBefore` to `notAfter`.
 *
 * One key pair serves all of a CA instance's leaves (it never leaves the process, and each
 * leaf is only ever shown to the client whose CONNECT it answers): a fresh key per host would
 * cost a key generation on every first visit for no gain in what a client can verify.
 */
export async function issueLeaf(
  ca: Issuer,
  leafKey: LeafKey,
  host: string,
  notBefore: Date,
  notAfter: Date,
): Promise<string> {
  const x509 = await loadX509()
  const ipv6 = host.startsWith('[') && host.endsWith(']')
  const name = ipv6 ? host.slice(1, -1) : host
  const ip = ipv6 || IPV4.test(host)
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: name.length <= MAX_COMMON_NAME ? [{ CN: [name] }] : [],
      issuer: ca.subject,
      notBefore,
      notAfter,
      signingAlgorithm: EC_P256,
      publicKey: leafKey.keys.publicKey,
      signingKey: ca.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension([{ type: ip ? 'ip' : 'dns', value: name }], false),
        await x509.SubjectKeyIdentifierExtension.create(leafKey.keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey, false, crypto),
      ],
    },
    crypto,
  )
  return cert.toString('pem')
}
