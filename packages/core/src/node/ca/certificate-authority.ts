import { randomBytes } from 'node:crypto'
import type { SecureContext } from 'node:tls'
import { type Duration, toSeconds } from '../../duration.js'
import { KeyholeError } from '../../errors.js'
import { detachedKey } from '../../keys/detached-key.js'
import { generateLeafKey, type Issuer, issueLeaf, type LeafKey } from './issue-leaf.js'
import { LruCache } from './leaf-cache.js'
import { EC_P256, loadX509 } from './x509.js'

/** What `keyhole ca init` writes (mode 0600): the CA certificate and its private key. */
export interface CertificateAuthorityJson {
  /** The CA certificate, PEM. Public: clients trust it. */
  readonly cert: string
  /** The CA's private key, a P-256 JWK. Secret: whoever holds it can impersonate any host to clients that trust the CA. */
  readonly key: JsonWebKey
}

/** Options of {@link createCertificateAuthority} and {@link loadCertificateAuthority}. */
export interface CertificateAuthorityOptions {
  /** How many hosts' leaf certificates are kept (least recently used dropped first). Default `1000`. */
  maxLeaves?: number
  /**
   * How long a leaf certificate is valid; at most (and by default) `'24h'`. A cached leaf is
   * replaced once less than a quarter of this remains, so no client is handed one about to expire.
   */
  leafLifetime?: Duration
  /** The clock, in milliseconds (for tests). Default `Date.now`. */
  now?: () => number
}

/** Options of {@link createCertificateAuthority}. */
export interface CreateCertificateAuthorityOptions extends CertificateAuthorityOptions {
  /** The CA certificate's common name. Default `keyhole forward-proxy CA <random id>`. */
  commonName?: string
  /** How long the CA certificate is valid. Default `'3650d'` (ten years). */
  lifetime?: Duration
}

/**
 * A certificate authority for the forward proxy's TLS interception: it issues, on first use and
 * cached, a short-lived leaf certificate for each host a client CONNECTs to. Clients must trust
 * {@link CertificateAuthority.certificate} (`keyhole ca cert`, `keyhole run --ca-cert`).
 */
export interface CertificateAuthority {
  /** The CA certificate, PEM: what clients add to their trusted roots. */
  readonly certificate: string
  /**
   * A TLS context for `host` (a normalized host name, an IPv4 literal, or a bracketed IPv6
   * literal) holding a leaf certificate for it: issued on first use, cached, renewed before it
   * expires.
   */
  secureContext(host: string): Promise<SecureContext>
  /** The leaf certificate (PEM) {@link CertificateAuthority.secureContext} currently uses for `host`. */
  leafCertificate(host: string): Promise<string>
  /**
   * How many hosts' leaf certificates are cached now (issued or being issued): never more than
   * `maxLeaves`, however many hosts clients CONNECT to.
   */
  readonly cachedLeaves: number
  /** The CA as JSON, **private key included** (what `keyhole ca init` writes with mode 0600). */
  toJSON(): CertificateAuthorityJson
}

const MAX_LEAF_SECONDS = 24 * 60 * 60
// Leaves start a little in the past, for clients whose clocks run slightly behind ours.
const BACKDATE_MS = 5 * 60 * 1000

interface Leaf {
  readonly pem: string
  readonly context: SecureContext
  readonly renewAt: number
}

/**
 * Creates a new P-256 certificate authority (WebCrypto and `@peculiar/x509`): a self-signed CA
 * certificate with `cA` and `pathLenConstraint 0`, allowed only to sign certificates.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises'
 * import { createCertificateAuthority } from '@keyhole/core/node'
 *
 * const ca = await createCertificateAuthority()
 * await writeFile('ca.json', JSON.stringify(ca.toJSON()), { mode: 0o600 })
 * await writeFile('ca.pem', ca.certificate) // for clients to trust
 * ```
 */
export async function createCertificateAuthority(
  options: CreateCertificateAuthorityOptions = {},
): Promise<CertificateAuthority> {
  const x509 = await loadX509()
  const now = (options.now ?? Date.now)()
  const lifetimeMs = toSeconds(options.lifetime ?? '3650d') * 1000
  const keys = (await crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair
  const commonName = options.commonName ?? `keyhole forward-proxy CA ${randomBytes(4).toString('hex')}`
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: [{ CN: [commonName] }],
      keys,
      signingAlgorithm: EC_P256,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + lifetimeMs),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  )
  // A copy's JWK, never the generated key's own: see detachedKey.
  const jwk = await crypto.subtle.exportKey('jwk', await detachedKey(keys.privateKey))
  const json: CertificateAuthorityJson = {
    cert: cert.toString('pem'),
    key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d } as JsonWebKey,
  }
  return build(
    json,
    { privateKey: keys.privateKey, publicKey: keys.publicKey, subject: cert.subjectName },
    options,
  )
}

/**
 * Loads a certificate authority from its JSON (a string or the parsed object), checking that
 * the certificate is a CA certificate and that the private key belongs to it.
 *
 * @throws KeyholeError `invalid_key` (the message never contains key material)
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises'
 * import { loadCertificateAuthority } from '@keyhole/core/node'
 *
 * const ca = await loadCertificateAuthority(await readFile('ca.json', 'utf8'))
 * ```
 */
export async function loadCertificateAuthority(
  json: string | CertificateAuthorityJson,
  options: CertificateAuthorityOptions = {},
): Promise<CertificateAuthority> {
  const x509 = await loadX509()
  let parsed: CertificateAuthorityJson
  try {
    parsed = typeof json === 'string' ? (JSON.parse(json) as CertificateAuthorityJson) : json
  } catch {
    throw new KeyholeError('invalid_key', 'the certificate authority file is not JSON')
  }
  if (typeof parsed?.cert !== 'string' || typeof parsed.key !== 'object' || parsed.key === null) {
    throw new KeyholeError('invalid_key', 'the certificate authority needs "cert" (PEM) and "key" (a JWK)')
  }
  let cert: InstanceType<typeof x509.X509Certificate>
  try {
    cert = new x509.X509Certificate(parsed.cert)
  } catch (cause) {
    throw new KeyholeError('invalid_key', 'the certificate authority\'s "cert" is not a PEM certificate', {
      cause,
    })
  }
  const constraints = cert.getExtension(x509.BasicConstraintsExtension)
  if (!constraints?.ca) throw new KeyholeError('invalid_key', 'the certificate is not a CA certificate')
  const { kty, crv, x, y, d } = parsed.key
  if (
    kty !== 'EC' ||
    crv !== 'P-256' ||
    typeof d !== 'string' ||
    typeof x !== 'string' ||
    typeof y !== 'string'
  ) {
    throw new KeyholeError('invalid_key', 'the certificate authority\'s "key" must be a private P-256 JWK')
  }
  let privateKey: CryptoKey
  let publicKey: CryptoKey
  try {
    privateKey = await crypto.subtle.importKey('jwk', { kty, crv, x, y, d }, EC_P256, false, ['sign'])
    publicKey = await crypto.subtle.importKey('jwk', { kty, crv, x, y }, EC_P256, true, ['verify'])
  } catch (cause) {
    throw new KeyholeError('invalid_key', 'the certificate authority\'s "key" is not a valid P-256 key', {
      cause,
    })
  }
  // The key must be the certificate's: otherwise every leaf would fail to verify, far from here.
  const certKey = Buffer.from(
    await crypto.subtle.exportKey('spki', await cert.publicKey.export(EC_P256, ['verify'], crypto)),
  )
  const ownKey = Buffer.from(await crypto.subtle.exportKey('spki', publicKey))
  if (!certKey.equals(ownKey)) {
    throw new KeyholeError(
      'invalid_key',
      "the certificate authority's key does not belong to its certificate",
    )
  }
  return build(
    { cert: parsed.cert, key: { kty, crv, x, y, d } as JsonWebKey },
    { privateKey, publicKey, subject: cert.subjectName },
    options,
  )
}

function build(
  json: CertificateAuthorityJson,
  issuer: Issuer,
  options: CertificateAuthorityOptions,
): CertificateAuthority {
  const clock = options.now ?? Date.now
  const leafSeconds = Math.min(toSeconds(options.leafLifetime ?? MAX_LEAF_SECONDS), MAX_LEAF_SECONDS)
  if (!(leafSeconds > 0)) throw new KeyholeError('bad_request', 'leafLifetime must be positive')
  const leafMs = leafSeconds * 1000
  const leaves = new LruCache<Promise<Leaf>>(options.maxLeaves ?? 1000)
  let leafKey: Promise<LeafKey> | undefined

  const issue = async (host: string): Promise<Leaf> => {
    leafKey ??= generateLeafKey()
    const key = await leafKey
    const notBefore = clock() - BACKDATE_MS
    const notAfter = notBefore + leafMs
    const pem = await issueLeaf(issuer, key, host, new Date(notBefore), new Date(notAfter))
    const context = process
      .getBuiltinModule('node:tls')
      .createSecureContext({ key: key.pem, cert: pem, minVersion: 'TLSv1.2' })
    return { pem, context, renewAt: notAfter - leafMs / 4 }
  }

  // One issuance per host however many CONNECTs arrive for it at once: the promise is cached.
  const leafFor = async (host: string): Promise<Leaf> => {
    const cached = leaves.get(host)
    if (cached) {
      const leaf = await cached
      if (clock() < leaf.renewAt) return leaf
      if (leaves.get(host) === cached) leaves.delete(host)
      return leafFor(host)
    }
    const pending = issue(host)
    leaves.set(host, pending)
    pending.catch(() => {
      if (leaves.get(host) === pending) leaves.delete(host)
    })
    return pending
  }

  return {
    certificate: json.cert,
    secureContext: async (host) => (await leafFor(host)).context,
    leafCertificate: async (host) => (await leafFor(host)).pem,
    get cachedLeaves() {
      return leaves.size
    },
    toJSON: () => ({ cert: json.cert, key: { ...json.key } }),
  }
}
