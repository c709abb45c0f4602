/** Where the first three kinds of credential go (the OpenAPI API-key vocabulary); also their older `in`. */
export type InjectLocation = 'header' | 'query' | 'cookie'

/** `{ type: 'header', name, value }`: sets the header, replacing inbound ones of that name. */
export type HeaderInjection = {
  readonly type: 'header'
  readonly in?: undefined
  readonly name: string
  readonly value: string
}

/** `{ type: 'query', name, value }`: sets the query parameter, replacing inbound ones of that name. */
export type QueryInjection = {
  readonly type: 'query'
  readonly in?: undefined
  readonly name: string
  readonly value: string
}

/** `{ type: 'cookie', name, value }`: adds the cookie; the inbound `Cookie` is dropped. */
export type CookieInjection = {
  readonly type: 'cookie'
  readonly in?: undefined
  readonly name: string
  readonly value: string
}

/**
 * The older spelling of the first three kinds, `{ in: 'header', name, value }`, as tokens minted
 * before other kinds existed carry it. Still valid everywhere; `normalizeInjection` turns it into
 * the `type` form.
 */
export type LocatedInjection = {
  readonly in: InjectLocation
  readonly type?: InjectLocation
  readonly name: string
  readonly value: string
}

/** `{ type: 'basic', username, password }`: `Authorization: Basic base64(username:password)`. */
export type BasicInjection = {
  readonly type: 'basic'
  readonly in?: undefined
  readonly name?: undefined
  readonly value?: undefined
  readonly username: string
  readonly password: string
}

/**
 * `{ type: 'body', field, value }`: sets one field of a JSON or form body, creating it if absent.
 * `field` is a JSON pointer (RFC 6901); in a form body a one-token pointer names the form field.
 */
export type BodyInjection = {
  readonly type: 'body'
  readonly in?: undefined
  readonly name?: undefined
  readonly field: string
  readonly value: string
}

/** `{ type: 'hmac', name, key, ... }`: sets header `name` to `prefix` + the HMAC of the body. */
export type HmacInjection = {
  readonly type: 'hmac'
  readonly in?: undefined
  readonly value?: undefined
  readonly name: string
  readonly key: string
  /** `sha256` (default) or `sha512`. */
  readonly algorithm?: 'sha256' | 'sha512'
  /** `hex` (default) or `base64`. */
  readonly encoding?: 'hex' | 'base64'
  /** Put before the signature, e.g. `sha256=`. */
  readonly prefix?: string
}

/** `{ type: 'oauth2', tokenUrl, clientId, clientSecret, ... }`: `Authorization: Bearer <access token>`. */
export type OAuth2Injection = {
  readonly type: 'oauth2'
  readonly in?: undefined
  readonly name?: undefined
  readonly value?: undefined
  readonly tokenUrl: string
  readonly clientId: string
  readonly clientSecret: string
  readonly scope?: string
  readonly audience?: string
  /** Use the refresh-token grant with this token instead of client credentials. */
  readonly refreshToken?: string
  /** How the client authenticates: `client_secret_basic` (default) or `client_secret_post`. */
  readonly auth?: 'client_secret_basic' | 'client_secret_post'
}

/** An entry of a kind a plug-in provides (`aws-sigv4` from `@keyhole/aws`, or your own). */
export type PluginInjection = {
  readonly type: string
  readonly in?: undefined
  readonly name?: string
  readonly value?: string
  readonly [field: string]: unknown
}

/**
 * One credential and where it goes: an entry of a grant's `inject` list. Its `type` picks the
 * injector (see "Credentials" in the README); `in` is the older name of `type` for `header`,
 * `query` and `cookie`. Every kind declares `name` and `value` (absent where it has none), so
 * code written against the older `{ in, name, value }` shape reads them as `string | undefined`.
 */
export type Injection =
  | HeaderInjection
  | QueryInjection
  | CookieInjection
  | LocatedInjection
  | BasicInjection
  | BodyInjection
  | HmacInjection
  | OAuth2Injection
  | PluginInjection

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
  /**
   * For an attenuated token whose layer set its own `sub` (a label the holder chose, unsigned):
   * the `sub` the issuer signed, or `null` when the signed grant has none. Absent when `sub` is
   * the signed one, so an audit record always shows who the issuer vouched for.
   */
  readonly signedSub?: string | null
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
  /** The grant's `signedSub`, when a layer relabelled `sub`. */
  signedSub?: string | null
  /** The issuer key that signed the grant (absent for an unsigned one). */
  issuerKid?: string
}
