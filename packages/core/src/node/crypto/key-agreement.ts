import { createECDH, createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto'
import { KeyholeError } from '../../errors.js'
import type { KeyholePrivateJwk } from '../../types.js'
import { decodeB64u } from './b64u.js'

/**
 * Computes the ECDH shared secret Z between a prepared private key and a token's `epk` header,
 * or returns `undefined` when the `epk` is not an acceptable public key for that curve.
 * The returned buffer is the caller's to zero.
 */
export type KeyAgreement = (epk: Readonly<Record<string, unknown>>) => Buffer | undefined

function invalidKey(): KeyholeError {
  return new KeyholeError('invalid_key', 'the private key is not a usable P-256 or X25519 ECDH-ES+A256KW key')
}

function coordinate(value: unknown): Buffer | undefined {
  if (typeof value !== 'string') return undefined
  const bytes = decodeB64u(value)
  return bytes?.length === 32 ? bytes : undefined
}

function p256Agreement(jwk: KeyholePrivateJwk): KeyAgreement {
  const d = coordinate(jwk.d)
  const x = coordinate(jwk.x)
  const y = coordinate(jwk.y)
  if (!d || !x || !y) throw invalidKey()
  // An ECDH object takes the peer point as raw bytes and validates it (on the curve, not infinity)
  // inside OpenSSL, which is cheaper than building a KeyObject from a JWK for every token.
  const ecdh = createECDH('prime256v1')
  try {
    ecdh.setPrivateKey(d)
  } catch {
    throw invalidKey()
  } finally {
    d.fill(0)
  }
  // The public half in the JWK must be the one d gives, or tokens minted to it would not open.
  if (!ecdh.getPublicKey().equals(Buffer.concat([Buffer.of(4), x, y]))) throw invalidKey()
  return (epk) => {
    if (epk.kty !== 'EC' || epk.crv !== 'P-256') return undefined
    const ex = coordinate(epk.x)
    const ey = coordinate(epk.y)
    if (!ex || !ey) return undefined
    const point = Buffer.allocUnsafe(65)
    point[0] = 4
    point.set(ex, 1)
    point.set(ey, 33)
    try {
      return ecdh.computeSecret(point)
    } catch {
      // Off the curve, or a coordinate not below the field prime: OpenSSL refuses both.
      return undefined
    }
  }
}

function x25519Agreement(jwk: KeyholePrivateJwk): KeyAgreement {
  if (!coordinate(jwk.d) || !coordinate(jwk.x) || jwk.y !== undefined) throw invalidKey()
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: jwk.d, x: jwk.x }, format: 'jwk' })
  } catch {
    throw invalidKey()
  }
  // Node derives the public key from d and ignores x; insist that they agree.
  if (createPublicKey(privateKey).export({ format: 'jwk' }).x !== jwk.x) throw invalidKey()
  return (epk) => {
    if (epk.kty !== 'OKP' || epk.crv !== 'X25519' || Object.hasOwn(epk, 'y')) return undefined
    const x = epk.x
    // Checked here because Node's own JWK decoder skips characters it does not know.
    if (!coordinate(x)) return undefined
    let z: Buffer
    try {
      const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: x as string }, format: 'jwk' })
      z = diffieHellman({ privateKey, publicKey })
    } catch {
      // OpenSSL fails the derivation when a low-order point makes the secret all zeros.
      return undefined
    }
    // RFC 7748 §6.1: refuse the all-zero secret ourselves too, whatever the OpenSSL build does.
    let bits = 0
    for (let i = 0; i < z.length; i++) bits |= z[i]!
    return bits === 0 ? undefined : z
  }
}

/**
 * Validates a keyhole private JWK once and returns the ECDH operation for its curve.
 * Throws `KeyholeError('invalid_key')` when the key is not a consistent P-256 or X25519 key.
 *
 * @example
 * ```ts
 * const agree = createKeyAgreement(privateJwk)
 * const z = agree(protectedHeader.epk)   // undefined when the epk is refused
 * ```
 */
export function createKeyAgreement(jwk: KeyholePrivateJwk): KeyAgreement {
  if (typeof jwk !== 'object' || jwk === null) throw invalidKey()
  // The same checks jose applies to a JWK before it uses it for decryption.
  if (jwk.alg !== undefined && jwk.alg !== 'ECDH-ES+A256KW') throw invalidKey()
  if (jwk.use !== undefined && jwk.use !== 'enc') throw invalidKey()
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return p256Agreement(jwk)
  if (jwk.kty === 'OKP' && jwk.crv === 'X25519') return x25519Agreement(jwk)
  throw invalidKey()
}
