// Builds keyhole tokens the way an attacker (or a buggy minter) could: any protected header, any
// plaintext, encrypted properly to the proxy's real public key, so the checks AFTER decryption —
// and, for signed tokens, after the signature — are reached too.
import { base64url, CompactEncrypt, type CompactJWEHeaderParameters, importJWK } from 'jose'
import type { KeyholePublicJwk } from '../../src/types.js'
import { type RecipientJwk, seal } from './jwe.js'
import { craftJws, type SigningJwk } from './jws.js'

/** A credential value that must never show up in an error, log or event. */
export const SECRET = 'sk_live_DO-NOT-LEAK_0123456789abcdef'

/** Options of {@link validClaims}. */
export interface ClaimsOptions {
  /** Default now. */
  nowSeconds?: number
  /** Default `['api.example.com']`. */
  hosts?: readonly string[]
  /** The injected `Authorization: Bearer <value>`; default {@link SECRET}. */
  value?: string
}

/** Claims keyhole's mint would produce, valid for an hour. */
export function validClaims(options: ClaimsOptions = {}): Record<string, unknown> {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000)
  return {
    jti: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
    iat: now,
    exp: now + 3600,
    hosts: options.hosts ?? ['api.example.com'],
    inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${options.value ?? SECRET}` }],
  }
}

/** keyhole's own protected header for `recipient` (a signed grant, `cty: 'JWT'`, unless `signed` is false). */
export function keyholeHeader(
  recipient: { kid?: string },
  hosts: readonly string[],
  signed = true,
): Record<string, unknown> {
  return {
    alg: 'ECDH-ES+A256KW',
    enc: 'A256GCM',
    kid: recipient.kid,
    typ: 'keyhole+jwt',
    ...(signed ? { cty: 'JWT' } : {}),
    hosts,
  }
}

/**
 * A header change: members to set on keyhole's header (a member set to `undefined` is left out;
 * jose encrypts, honouring `alg`/`enc`), or a function from keyhole's header (with the real `epk`)
 * to the header object or exact header text (encrypted by hand, so anything can be written).
 */
export type HeaderEdit =
  | Record<string, unknown>
  | ((header: Record<string, unknown>, epk: Record<string, string>) => Record<string, unknown> | string)

/** Options of {@link craftToken} and {@link craftSigned}. */
export interface CraftOptions {
  header?: HeaderEdit
  /** The claims (serialized as JSON) or the exact payload text. Default {@link validClaims}. */
  claims?: Record<string, unknown> | string
  /** The header's `hosts` hint; default the claims' hosts. */
  hosts?: readonly string[]
}

function hostsOf(options: CraftOptions, claims: Record<string, unknown> | string): readonly string[] {
  if (options.hosts) return options.hosts
  if (typeof claims === 'string') return ['api.example.com']
  return (claims.hosts as string[] | undefined) ?? ['api.example.com']
}

async function encryptTo(
  jwk: KeyholePublicJwk | RecipientJwk,
  base: Record<string, unknown>,
  edit: HeaderEdit | undefined,
  plaintext: string,
): Promise<string> {
  if (typeof edit === 'function') {
    const { token } = await seal(
      jwk,
      (epk) => {
        const edited = edit({ ...base, epk }, epk)
        return typeof edited === 'string' ? edited : JSON.stringify(edited)
      },
      plaintext,
    )
    return token
  }
  const header: Record<string, unknown> = { ...base, ...edit }
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name]
  const { kid: _kid, alg: _alg, use: _use, ...material } = jwk as KeyholePublicJwk
  const key = await importJWK(material, 'ECDH-ES+A256KW')
  return new CompactEncrypt(new TextEncoder().encode(plaintext))
    .setProtectedHeader(header as CompactJWEHeaderParameters)
    .encrypt(key)
}

const text = (claims: Record<string, unknown> | string) =>
  typeof claims === 'string' ? claims : JSON.stringify(claims)

/** An UNSIGNED token: the claims themselves are the plaintext (only `acceptUnsigned` openers take it). */
export function craftToken(
  jwk: KeyholePublicJwk | RecipientJwk,
  options: CraftOptions = {},
): Promise<string> {
  const claims = options.claims ?? validClaims()
  return encryptTo(jwk, keyholeHeader(jwk, hostsOf(options, claims), false), options.header, text(claims))
}

/** A signed token: the claims signed by `signWith` (default the test issuer) as mint does, then encrypted. */
export async function craftSigned(
  jwk: KeyholePublicJwk | RecipientJwk,
  options: CraftOptions & { signWith?: SigningJwk } = {},
): Promise<string> {
  const claims = options.claims ?? validClaims()
  const jws = await craftJws(claims, options.signWith)
  return encryptTo(jwk, keyholeHeader(jwk, hostsOf(options, claims)), options.header, jws)
}

/** Encrypts an already signed (or deliberately broken) JWS to `jwk` as a signed token: `cty: 'JWT'`. */
export function craftSignedToken(
  jwk: KeyholePublicJwk | RecipientJwk,
  jws: string,
  hosts: readonly string[] = ['api.example.com'],
  header: Record<string, unknown> = {},
): Promise<string> {
  return encryptTo(jwk, keyholeHeader(jwk, hosts), header, jws)
}

/** Replaces compact segment `index` (0 header … 4 tag) with `replace(segment)`. */
export function withSegment(token: string, index: number, replace: (segment: string) => string): string {
  const parts = token.split('.')
  parts[index] = replace(parts[index] ?? '')
  return parts.join('.')
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Changes one base64url character at `position` (negative counts from the end) to another. */
export function flipChar(segment: string, position: number, xor = 1): string {
  const at = position < 0 ? segment.length + position : position
  const index = ALPHABET.indexOf(segment[at] ?? 'A')
  return segment.slice(0, at) + ALPHABET[(index ^ xor) & 63] + segment.slice(at + 1)
}

/** Encodes a JSON header as base64url, for hand-built tokens. */
export function encodeHeader(header: Record<string, unknown>): string {
  return base64url.encode(JSON.stringify(header))
}
