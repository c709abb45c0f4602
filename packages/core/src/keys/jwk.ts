import { calculateJwkThumbprint } from 'jose'
import { KeyholeError } from '../errors.js'
import type {
  KeyCurve,
  KeyholeIssuerPrivateJwk,
  KeyholeIssuerPublicJwk,
  KeyholePrivateJwk,
  KeyholePublicJwk,
} from '../types.js'
import { bareIssuerJwk, isIssuerJwk, publicIssuerJwk } from './issuer-jwk.js'

/** The one key-management algorithm keyhole keys are for. */
export const KEY_ALG = 'ECDH-ES+A256KW'

// Both curves have 32-byte coordinates and scalars: 43 base64url characters without padding.
const COORDINATE = /^[A-Za-z0-9_-]{43}$/

/** The key members that matter, before the `kid` is attached. */
export interface BareJwk {
  kty: 'EC' | 'OKP'
  crv: KeyCurve
  x: string
  y?: string
  d?: string
  kid?: string
}

function invalidKey(message: string): KeyholeError {
  // Messages name the problem, never a key member's value: `d` is a secret.
  return new KeyholeError('invalid_key', message)
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Checks the shape of a keyhole JWK and returns a copy holding only the members keyhole uses.
 * Throws `invalid_key` for anything that is not a P-256 or X25519 key for ECDH-ES+A256KW.
 */
export function bareJwk(input: unknown): BareJwk {
  if (!isPlainObject(input)) throw invalidKey('a key must be a JWK object')
  const { kty, crv, x, y, d, kid, alg, use } = input
  if (alg !== undefined && alg !== KEY_ALG) throw invalidKey(`keyhole keys are for alg ${KEY_ALG}`)
  if (use !== undefined && use !== 'enc') throw invalidKey('keyhole keys have use "enc"')
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0)) {
    throw invalidKey('a key id (kid) must be a non-empty string')
  }
  if (typeof x !== 'string' || !COORDINATE.test(x)) throw invalidKey('the key has no valid "x" member')
  if (d !== undefined && (typeof d !== 'string' || !COORDINATE.test(d))) {
    throw invalidKey('the key has an invalid "d" member')
  }
  if (kty === 'EC' && crv === 'P-256') {
    if (typeof y !== 'string' || !COORDINATE.test(y)) throw invalidKey('the key has no valid "y" member')
    return { kty, crv, x, y, ...(d !== undefined && { d }), ...(kid !== undefined && { kid }) }
  }
  if (kty === 'OKP' && crv === 'X25519') {
    if (y !== undefined) throw invalidKey('an X25519 key has no "y" member')
    return { kty, crv, x, ...(d !== undefined && { d }), ...(kid !== undefined && { kid }) }
  }
  throw invalidKey('keyhole keys are P-256 (kty EC) or X25519 (kty OKP)')
}

/** The RFC 7638 thumbprint (SHA-256, base64url) of a key's public members. */
export function thumbprint(jwk: BareJwk): Promise<string> {
  return calculateJwkThumbprint(
    jwk.kty === 'EC'
      ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
      : { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
    'sha256',
  )
}

/** Builds the public JWK in keyhole's member order, frozen. Never copies `d`. */
export function publicJwk(jwk: BareJwk, kid: string): KeyholePublicJwk {
  return Object.freeze(
    jwk.kty === 'EC'
      ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y as string, kid, alg: KEY_ALG, use: 'enc' as const }
      : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg: KEY_ALG, use: 'enc' as const },
  )
}

/** Builds the private JWK in keyhole's member order, frozen. */
export function privateJwk(jwk: BareJwk & { d: string }, kid: string): KeyholePrivateJwk {
  return Object.freeze(
    jwk.kty === 'EC'
      ? {
          kty: jwk.kty,
          crv: jwk.crv,
          x: jwk.x,
          y: jwk.y as string,
          d: jwk.d,
          kid,
          alg: KEY_ALG,
          use: 'enc' as const,
        }
      : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d, kid, alg: KEY_ALG, use: 'enc' as const },
  )
}

/**
 * Computes the thumbprint and checks it against a `kid` the key already carries: keyhole
 * looks keys up by thumbprint, so a key whose `kid` says otherwise could never open its tokens.
 */
export async function verifiedKid(jwk: BareJwk): Promise<string> {
  const kid = await thumbprint(jwk)
  if (jwk.kid !== undefined && jwk.kid !== kid) {
    throw invalidKey('the key id (kid) is not the RFC 7638 thumbprint of the key')
  }
  return kid
}

/**
 * Returns the public half of a keyhole key: for a decryption key what goes into a JWKS or into
 * `mint({ to })`; for an issuer key (`use: 'sig'`) what a proxy lists in `issuers`.
 *
 * @example
 * ```ts
 * const key = await generateKey()
 * const pub = toPublicJwk(key) // { kty, crv, x, y, kid, alg, use } — no `d`
 * const issuer = await generateKey({ use: 'sig' })
 * const opener = createOpener({ keyring, issuers: [toPublicJwk(issuer)] })
 * ```
 */
export function toPublicJwk(key: KeyholeIssuerPrivateJwk | KeyholeIssuerPublicJwk): KeyholeIssuerPublicJwk
export function toPublicJwk(key: KeyholePrivateJwk | KeyholePublicJwk): KeyholePublicJwk
export function toPublicJwk(
  key: KeyholePrivateJwk | KeyholePublicJwk | KeyholeIssuerPrivateJwk | KeyholeIssuerPublicJwk,
): KeyholePublicJwk | KeyholeIssuerPublicJwk
export function toPublicJwk(
  key: KeyholePrivateJwk | KeyholePublicJwk | KeyholeIssuerPrivateJwk | KeyholeIssuerPublicJwk,
): KeyholePublicJwk | KeyholeIssuerPublicJwk {
  if (isIssuerJwk(key)) {
    const issuer = bareIssuerJwk(key)
    if (issuer.kid === undefined) throw invalidKey('the key has no key id (kid)')
    return publicIssuerJwk(issuer, issuer.kid)
  }
  const bare = bareJwk(key)
  if (bare.kid === undefined) throw invalidKey('the key has no key id (kid); import it with importKey()')
  return publicJwk(bare, bare.kid)
}
