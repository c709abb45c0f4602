import { base64url, CompactSign, importJWK } from 'jose'
import { type Duration, toSeconds } from './duration.js'
import { KeyholeError } from './errors.js'
import type { FetchJwksOptions } from './fetch-jwks.js'
import { copyInjection } from './inject/injection-type.js'
import type { InjectorRegistry } from './inject/registry.js'
import { bindingThumbprint } from './keys/bind-key.js'
import { encryptTo, type Recipient, resolveRecipient } from './keys/encrypt-to.js'
import { type BareIssuerJwk, bareIssuerJwk, verifiedIssuerKid } from './keys/issuer-jwk.js'
import { assertValidPolicy } from './policy/validate-policy.js'
import type { Injection, KeyholeIssuerPrivateJwk } from './types.js'

/** What a token allows: the policy, the credentials, and how long it lives. */
export interface MintGrant {
  /** Host patterns, e.g. `['api.github.com']`, `['*.example.com:8443']`, `['http://localhost:3000']`. */
  hosts: readonly string[]
  /** Path patterns (`/v1/messages`, `/repos/acme/*`, `/repos/acme/**`). Absent: any path. */
  paths?: readonly string[]
  /** Upper-case methods. Absent: any method. */
  methods?: readonly string[]
  /** The credentials and where they go. */
  inject: readonly Injection[]
  /** Lifetime from now: `'1h'`, `'15m'`, or seconds. Must be more than 0 and at most `maxTtl`. */
  ttl: Duration
  /** Who or what the token is for; shown in audit events. */
  sub?: string
  /** The proxy (or proxies) meant to open the token; a proxy may require its own. */
  aud?: string | readonly string[]
  /** Who minted it. */
  iss?: string
  /** Not valid before this time (a `Date`, or seconds since the epoch). Must be before expiry. */
  nbf?: Date | number
  /**
   * Binds the token to a key: the PUBLIC JWK (P-256 or Ed25519) of the holder's proof key. Every
   * request must then carry a `Keyhole-Proof` signed by it, so a copy of the token is useless
   * without the key.
   */
  bindKey?: JsonWebKey
}

/** Options of {@link mint}. */
export interface MintOptions {
  /**
   * The recipient: a public JWK, a JWKS (the NEWEST usable key is used — the last key in `keys`
   * with `use: 'enc'`, which is `keyring.current` for `keyring.publicJwks()`), or the URL of a
   * JWKS (fetched with {@link fetchJwks}, cached).
   */
  to: Recipient
  /**
   * The issuer key that signs the grant (`generateKey({ use: 'sig' })`). A proxy honours a
   * grant only when an issuer it trusts signed it, so this is what makes the token usable.
   * Without it the token is unsigned: only a proxy started with `acceptUnsigned: true` (and an
   * `allowHosts` bound) opens it.
   */
  signWith?: KeyholeIssuerPrivateJwk
  /** Longest `ttl` accepted. Default `'24h'`, the opener's default `maxTtl`. */
  maxTtl?: Duration
  /** Options for fetching a JWKS URL (timeout, cache TTL, fetch). */
  jwks?: FetchJwksOptions
  /** The clock, in milliseconds since the epoch. Default `Date.now`; tests inject their own. */
  now?: () => number
  /**
   * The credential types a grant may use. Default: the built-in ones (`builtinInjectors`); pass
   * `createInjectorRegistry([awsSigV4Injector])` to mint grants for plug-in types.
   */
  injectors?: InjectorRegistry
}

const GRANT_FIELDS = new Set([
  'hosts',
  'paths',
  'methods',
  'inject',
  'ttl',
  'sub',
  'aud',
  'iss',
  'nbf',
  'bindKey',
])

function invalidGrant(message: string): KeyholeError {
  return new KeyholeError('invalid_grant', message)
}

function copyList<T>(value: T): T {
  return (Array.isArray(value) ? [...value] : value) as T
}

function checkText(value: unknown, name: string): void {
  if (
    value !== undefined &&
    (typeof value !== 'string' || value.length === 0 || /[\0-\x1f\x7f]/.test(value))
  ) {
    throw invalidGrant(`"${name}" must be a non-empty string without control characters`)
  }
}

/** Checks everything about the grant and returns the claims to encrypt. Throws `invalid_grant`. */
function buildClaims(grant: MintGrant, options: MintOptions): Record<string, unknown> {
  if (typeof grant !== 'object' || grant === null) throw invalidGrant('a grant must be an object')
  for (const field of Object.keys(grant)) {
    // A misspelt field ("method" for "methods") would otherwise silently widen the grant.
    // Named by what is allowed, not quoted: a field name can be a secret pasted in the wrong place.
    if (!GRANT_FIELDS.has(field)) {
      throw invalidGrant(`the grant has an unknown field; grant fields are ${[...GRANT_FIELDS].join(', ')}`)
    }
  }
  // Validated and encrypted from one snapshot, so a getter or a caller mutating the grant
  // concurrently cannot slip a value past validation.
  const policy = {
    hosts: copyList(grant.hosts),
    paths: copyList(grant.paths),
    methods: copyList(grant.methods),
    // Copied member by member so nothing but `type` (or `in`) and the fields of the entry's
    // injector ever lands in the token.
    inject: Array.isArray(grant.inject)
      ? grant.inject.map((i: unknown) => copyInjection(i, options.injectors))
      : grant.inject,
  }
  assertValidPolicy(policy, options.injectors)

  let ttl: number
  let maxTtl: number
  try {
    ttl = toSeconds(grant.ttl)
    maxTtl = toSeconds(options.maxTtl ?? '24h')
  } catch {
    throw invalidGrant('ttl and maxTtl are durations such as "15m", "1h" or a number of seconds')
  }
  if (!(ttl > 0)) throw invalidGrant('ttl must be more than 0')
  if (ttl > maxTtl) throw invalidGrant(`ttl must be at most ${maxTtl} seconds (maxTtl)`)

  checkText(grant.sub, 'sub')
  checkText(grant.iss, 'iss')
  if (Array.isArray(grant.aud)) {
    if (grant.aud.length === 0) throw invalidGrant('"aud" must not be an empty list')
    for (const aud of grant.aud) checkText(aud, 'aud')
  } else if (grant.aud !== undefined) {
    checkText(grant.aud, 'aud')
  }

  const iat = Math.floor((options.now ?? Date.now)() / 1000)
  const exp = iat + Math.ceil(ttl)
  let nbf: number | undefined
  if (grant.nbf !== undefined) {
    nbf = grant.nbf instanceof Date ? Math.floor(grant.nbf.getTime() / 1000) : grant.nbf
    if (typeof nbf !== 'number' || !Number.isFinite(nbf) || nbf < 0) {
      throw invalidGrant('"nbf" must be a Date or seconds since the epoch')
    }
    if (nbf >= exp) throw invalidGrant('"nbf" must be before the token expires')
  }

  return {
    jti: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
    iat,
    exp,
    ...(nbf !== undefined && { nbf }),
    ...(grant.iss !== undefined && { iss: grant.iss }),
    ...(grant.aud !== undefined && { aud: Array.isArray(grant.aud) ? [...grant.aud] : grant.aud }),
    ...(grant.sub !== undefined && { sub: grant.sub }),
    hosts: policy.hosts,
    ...(policy.paths !== undefined && { paths: policy.paths }),
    ...(policy.methods !== undefined && { methods: policy.methods }),
    inject: policy.inject,
  }
}

/** The media type of a signed grant (explicit typing: no other JWT an issuer signs passes for one). */
export const GRANT_TYP = 'keyhole-grant+jwt'

interface SigningKey {
  readonly alg: 'ES256' | 'EdDSA'
  readonly kid: string
  readonly key: CryptoKey
}

// Imported signing keys by key object, so minting many tokens with one issuer imports it once.
const signingKeys = new WeakMap<object, Promise<SigningKey>>()

async function importSigningKey(jwk: KeyholeIssuerPrivateJwk): Promise<SigningKey> {
  const bare: BareIssuerJwk = bareIssuerJwk(jwk)
  if (bare.d === undefined)
    throw new KeyholeError('invalid_key', 'signWith needs a private issuer key (with "d")')
  const kid = await verifiedIssuerKid(bare)
  const { kid: _kid, ...material } = bare
  try {
    return { alg: bare.alg, kid, key: (await importJWK(material, bare.alg)) as CryptoKey }
  } catch {
    throw new KeyholeError('invalid_key', 'the issuer key does not import as a P-256 or Ed25519 private key')
  }
}

function signingKey(jwk: KeyholeIssuerPrivateJwk): Promise<SigningKey> {
  if (typeof jwk !== 'object' || jwk === null) {
    return Promise.reject(new KeyholeError('invalid_key', 'signWith must be an issuer JWK'))
  }
  let pending = signingKeys.get(jwk)
  if (!pending) {
    pending = importSigningKey(jwk)
    pending.catch(() => signingKeys.delete(jwk))
    signingKeys.set(jwk, pending)
  }
  return pending
}

/**
 * Mints a keyhole token: validates the grant completely (policy syntax, credential placement,
 * CR/LF/NUL, ttl at most `maxTtl`) BEFORE anything is signed or encrypted, generates a random
 * 128-bit `jti`, signs the claims with the issuer key `signWith` (a compact JWS, `typ:
 * 'keyhole-grant+jwt'`, `kid` = the issuer key's thumbprint) and encrypts that JWS to the proxy's
 * public key (ECDH-ES+A256KW, A256GCM, `cty: 'JWT'`). The protected header carries `kid`,
 * `typ: 'keyhole+jwt'` and a copy of `hosts` so clients can route tokens without opening them.
 * Without `signWith` the token is unsigned, which a default proxy refuses. Throws `invalid_grant`,
 * `invalid_key` or `jwks_unavailable`; messages never contain a credential value.
 *
 * @example
 * ```ts
 * const token = await mint(
 *   {
 *     hosts: ['api.github.com'],
 *     methods: ['GET'],
 *     inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${process.env.GITHUB_TOKEN}` }],
 *     ttl: '1h',
 *     sub: 'agent-42',
 *   },
 *   { to: 'https://proxy.internal/.well-known/jwks.json', signWith: issuerKey },
 * )
 * ```
 */
export async function mint(grant: MintGrant, options: MintOptions): Promise<string> {
  return (await mintDetailed(grant, options)).token
}

/** A freshly minted token with the public parts of its claims. */
export interface MintedToken {
  readonly token: string
  readonly jti: string
  readonly iat: number
  readonly exp: number
}

/**
 * {@link mint}, also returning the token's `jti`, `iat` and `exp`, so a caller that must record
 * or report them (an admin route, an audit log) need not decrypt the token it just made.
 *
 * @example
 * ```ts
 * const { token, jti, exp } = await mintDetailed(grant, { to: keyring.publicJwks(), signWith: issuerKey })
 * audit.log({ jti, exp })
 * ```
 */
export async function mintDetailed(grant: MintGrant, options: MintOptions): Promise<MintedToken> {
  if (typeof options !== 'object' || options === null || options.to === undefined) {
    throw new KeyholeError('bad_request', 'mint needs { to }: a public JWK, a JWKS or a JWKS URL')
  }
  const claims = buildClaims(grant, options)
  if (grant.bindKey !== undefined) claims.cnf = { jkt: await bindingThumbprint(grant.bindKey) }
  const signer = options.signWith === undefined ? undefined : await signingKey(options.signWith)
  const to = await resolveRecipient(options.to, options.jwks)
  const encoded = new TextEncoder().encode(JSON.stringify(claims))
  let plaintext = encoded
  if (signer) {
    // Sign, then encrypt: the JWS is the JWE's plaintext, so the signature (which names the
    // issuer) is as hidden as the credential, and the proxy's key is what opens both.
    const jws = await new CompactSign(encoded)
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: GRANT_TYP })
      .sign(signer.key)
    encoded.fill(0)
    plaintext = new TextEncoder().encode(jws)
  }
  try {
    const token = await encryptTo(to, plaintext, {
      ...(signer && { cty: 'JWT' }),
      hosts: claims.hosts as readonly string[],
      ...(claims.cnf !== undefined && { jkt: (claims.cnf as { jkt: string }).jkt }),
    })
    return { token, jti: claims.jti as string, iat: claims.iat as number, exp: claims.exp as number }
  } finally {
    plaintext.fill(0)
  }
}
