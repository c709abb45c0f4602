import { calculateJwkThumbprint } from 'jose'
import { KeyholeError } from '../errors.js'
import type { IssuerAlg, KeyholeIssuerPrivateJwk, KeyholeIssuerPublicJwk } from '../types.js'

// P-256 coordinates and scalars, and Ed25519 keys, are 32 bytes: 43 base64url characters.
const COORDINATE = /^[A-Za-z0-9_-]{43}$/

/** The members of an issuer key that matter, before its `kid` is attached. */
export interface BareIssuerJwk {
  kty: 'EC' | 'OKP'
  crv: 'P-256' | 'Ed25519'
  alg: IssuerAlg
  x: string
  y?: string
  d?: string
  kid?: string
}

function invalidKey(message: string): KeyholeError {
  // Messages name the problem, never a member's value: `d` is a secret.
  return new KeyholeError('invalid_key', message)
}

/**
 * True when `value` looks like an issuer key rather than a decryption key: `use: 'sig'`, or an
 * `alg` of ES256/EdDSA, or the Ed25519 curve. Used to tell the two apart in a mixed key file.
 */
export function isIssuerJwk(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const { use, alg, crv } = value as Record<string, unknown>
  return use === 'sig' || alg === 'ES256' || alg === 'EdDSA' || crv === 'Ed25519'
}

/**
 * Checks the shape of an issuer JWK and returns a copy holding only the members keyhole uses.
 * Throws `invalid_key` for anything but a P-256 key for ES256 or an Ed25519 key for EdDSA.
 */
export function bareIssuerJwk(input: unknown): BareIssuerJwk {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidKey('an issuer key must be a JWK object')
  }
  const { kty, crv, x, y, d, kid, alg, use } = input as Record<string, unknown>
  if (use !== undefined && use !== 'sig') throw invalidKey('issuer keys have use "sig"')
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0)) {
    throw invalidKey('a key id (kid) must be a non-empty string')
  }
  if (typeof x !== 'string' || !COORDINATE.test(x)) throw invalidKey('the key has no valid "x" member')
  if (d !== undefined && (typeof d !== 'string' || !COORDINATE.test(d))) {
    throw invalidKey('the key has an invalid "d" member')
  }
  const extra = {
    ...(d !== undefined && { d: d as string }),
    ...(kid !== undefined && { kid: kid as string }),
  }
  if (kty === 'EC' && crv === 'P-256') {
    if (alg !== undefined && alg !== 'ES256') throw invalidKey('a P-256 issuer key is for alg ES256')
    if (typeof y !== 'string' || !COORDINATE.test(y)) throw invalidKey('the key has no valid "y" member')
    return { kty, crv, alg: 'ES256', x, y, ...extra }
  }
  if (kty === 'OKP' && crv === 'Ed25519') {
    if (alg !== undefined && alg !== 'EdDSA') throw invalidKey('an Ed25519 issuer key is for alg EdDSA')
    if (y !== undefined) throw invalidKey('an Ed25519 key has no "y" member')
    return { kty, crv, alg: 'EdDSA', x, ...extra }
  }
  throw invalidKey('issuer keys are P-256 (ES256) or Ed25519 (EdDSA)')
}

/** The RFC 7638 thumbprint of an issuer key's public members. */
export function issuerThumbprint(jwk: BareIssuerJwk): Promise<string> {
  return calculateJwkThumbprint(
    jwk.kty === 'EC'
      ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
      : { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
    'sha256',
  )
}

/** Computes the thumbprint and checks it against a `kid` the key already carries. */
export async function verifiedIssuerKid(jwk: BareIssuerJwk): Promise<string> {
  const kid = await issuerThumbprint(jwk)
  if (jwk.kid !== undefined && jwk.kid !== kid) {
    throw invalidKey('the issuer key id (kid) is not the RFC 7638 thumbprint of the key')
  }
  return kid
}

/** The public issuer JWK in keyhole's member order, frozen. Never copies `d`. */
export function publicIssuerJwk(jwk: BareIssuerJwk, kid: string): KeyholeIssuerPublicJwk {
  return Object.freeze(
    jwk.kty === 'EC'
      ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y as string, kid, alg: jwk.alg, use: 'sig' as const }
      : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg: jwk.alg, use: 'sig' as const },
  )
}

/** The private issuer JWK in keyhole's member order, frozen. */
export function privateIssuerJwk(jwk: BareIssuerJwk & { d: string }, kid: string): KeyholeIssuerPrivateJwk {
  return Object.freeze(
    jwk.kty === 'EC'
      ? {
          kty: jwk.kty,
          crv: jwk.crv,
          x: jwk.x,
          y: jwk.y as string,
          d: jwk.d,
          kid,
          alg: jwk.alg,
          use: 'sig' as const,
        }
      : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d, kid, alg: jwk.alg, use: 'sig' as const },
  )
}
