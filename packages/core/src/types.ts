/** Where a credential goes in the upstream request (the OpenAPI API-key vocabulary). */
export type InjectLocation = 'header' | 'query' | 'cookie'

/** One credential and where to put it. `value` is the secret. */
export interface Injection {
  readonly in: InjectLocation
  readonly name: string
  readonly value: string
}

/** The policy part of a grant: what the credential may be used for. */
export interface Policy {
  /** Host patterns: `api.example.com`, `*.example.com`, optional `:port`, optional `http://` prefix. */
  readonly hosts: readonly string[]
  /** Path patterns: `/v1/messages`, `/repos/acme/*`, `/repos/acme/**`. Absent means any path. */
  readonly paths?: readonly string[]
  /** Upper-case HTTP methods. Absent means any method. */
  readonly methods?: readonly string[]
}

/**
 * The verified contents of a keyhole token, as returned by `opener.open()`.
 * Grants are frozen; the opener may hand the same object to many requests.
 */
export interface Grant extends Policy {
  readonly jti: string
  readonly iat: number
  readonly exp: number
  readonly nbf?: number
  readonly iss?: string
  readonly aud?: string | readonly string[]
  readonly sub?: string
  readonly inject: readonly Injection[]
  /** The key id the token was encrypted to (from the protected header). */
  readonly kid: string
  /**
   * The RFC 7638 thumbprint of the trusted issuer key that signed the grant. Absent only for an
   * unsigned grant, which an opener accepts only with `acceptUnsigned: true`; an unsigned grant
   * never reaches a private address on the strength of naming it.
   */
  readonly issuerKid?: string
  /** The key the token is bound to (RFC 7638 thumbprint): every request must carry a proof by it. */
  readonly cnf?: { readonly jkt: string }
  /**
   * For an attenuated token: the `jti` of every layer, outermost first (the grant's own `jti`
   * is the outermost one). Revoking any of them revokes the token. Absent for a single layer.
   */
  readonly chain?: readonly string[]
  /**
   * For an attenuated token: the restrictions of the outer layers, outermost first. A request
   * must satisfy the grant's own `hosts`/`paths`/`methods` AND every layer's.
   */
  readonly layers?: readonly LayerPolicy[]
}

/** What one attenuation layer restricts; an absent member restricts nothing. */
export interface LayerPolicy {
  readonly hosts?: readonly string[]
  readonly paths?: readonly string[]
  readonly methods?: readonly string[]
}

/** The header every keyhole token carries; readable by anyone. */
export interface KeyholeProtectedHeader {
  readonly alg: 'ECDH-ES+A256KW'
  readonly enc: 'A256GCM'
  readonly kid: string
  readonly typ: 'keyhole+jwt'
  readonly hosts: readonly string[]
  readonly epk: JsonWebKey
  /** `JWT` for an issuer-signed grant, `keyhole+att` for an attenuation layer. */
  readonly cty?: 'JWT' | 'keyhole+att'
  /** The thumbprint of the key the token is bound to, when it is. */
  readonly jkt?: string
}

/** The curves keyhole keys can use. */
export type KeyCurve = 'P-256' | 'X25519'

/** A keyhole private key: a JWK with `kid` (RFC 7638 thumbprint), `alg` and `use`. */
export interface KeyholePrivateJwk {
  readonly kty: 'EC' | 'OKP'
  readonly crv: KeyCurve
  readonly x: string
  readonly y?: string
  readonly d: string
  readonly kid: string
  readonly alg: 'ECDH-ES+A256KW'
  readonly use: 'enc'
}

/** The public half of a {@link KeyholePrivateJwk}. */
export type KeyholePublicJwk = Omit<KeyholePrivateJwk, 'd'>

/** The signature algorithms an issuer key can have: ES256 (P-256, default) or EdDSA (Ed25519). */
export type IssuerAlg = 'ES256' | 'EdDSA'

/**
 * An issuer's private signing key: `mint(grant, { signWith })` signs grants with it, and a proxy
 * that lists its public half in `issuers` honours them. `kid` is the RFC 7638 thumbprint,
 * `use` is `sig`, never the same key as a decryption key.
 */
export interface KeyholeIssuerPrivateJwk {
  readonly kty: 'EC' | 'OKP'
  readonly crv: 'P-256' | 'Ed25519'
  readonly x: string
  readonly y?: string
  readonly d: string
  readonly kid: string
  readonly alg: IssuerAlg
  readonly use: 'sig'
}

/** The public half of a {@link KeyholeIssuerPrivateJwk}: what a proxy trusts. */
export type KeyholeIssuerPublicJwk = Omit<KeyholeIssuerPrivateJwk, 'd'>

/** A JSON Web Key Set of public keys. */
export interface PublicJwks {
  readonly keys: readonly KeyholePublicJwk[]
}

/** Phase timings and cache outcome that `open()` can report to its caller. */
export interface OpenInfo {
  /** True when the grant came from the verified-grant cache. */
  cacheHit: boolean
  /** Milliseconds spent decrypting and validating (0 on a cache hit). */
  openMs: number
  /** Milliseconds spent asking the revocation store. */
  revocationMs: number
  /**
   * The token's `jti`, `kid` and `sub`, set once its claims are trusted (decrypted and valid),
   * also when it is then refused as expired, not yet valid or revoked: so an audit log can say
   * which token was refused.
   */
  jti?: string
  kid?: string
  sub?: string
  /** The issuer key that signed the grant (absent for an unsigned one). */
  issuerKid?: string
}
