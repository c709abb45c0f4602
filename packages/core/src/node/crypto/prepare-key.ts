import type { KeyCurve, KeyholePrivateJwk } from '../../types.js'
import { createKeyAgreement, type KeyAgreement } from './key-agreement.js'

/**
 * A private key made ready for {@link decryptCompact}: validated once, with its OpenSSL key
 * object built once. Opaque; holds no key material you can read back.
 */
export interface PreparedKey {
  readonly kid: string
  readonly curve: KeyCurve
}

const agreements = new WeakMap<PreparedKey, KeyAgreement>()

interface CachedKey {
  readonly kty: string
  readonly crv: string
  readonly x: string
  readonly y: string | undefined
  readonly d: string
  readonly agreement: KeyAgreement
}

// Keyrings hold a handful of keys; the bound only stops a caller that invents kids from growing it.
const MAX_CACHED_KEYS = 64
const byKid = new Map<string, CachedKey>()

/**
 * Validates a keyhole private JWK and builds its OpenSSL key once, for many {@link decryptCompact}
 * calls. Throws `KeyholeError('invalid_key')` for a key that is not a consistent P-256 or X25519
 * `ECDH-ES+A256KW` key (including a public half that does not match `d`).
 *
 * @example
 * ```ts
 * const prepared = prepareKey(privateJwk)
 * const { protectedHeader, plaintext } = decryptCompact(token, prepared)
 * ```
 */
export function prepareKey(jwk: KeyholePrivateJwk): PreparedKey {
  const agreement = createKeyAgreement(jwk)
  const prepared: PreparedKey = Object.freeze({ kid: jwk.kid, curve: jwk.crv })
  agreements.set(prepared, agreement)
  return prepared
}

/**
 * The key agreement for a prepared key, or for a JWK through a cache keyed by `kid` that is reused
 * only when every key member matches (a different key under a known kid is prepared afresh).
 *
 * @internal
 * @example
 * ```ts
 * const z = keyAgreementFor(jwk)(header.epk)
 * ```
 */
export function keyAgreementFor(key: KeyholePrivateJwk | PreparedKey): KeyAgreement {
  const prepared = agreements.get(key as PreparedKey)
  if (prepared) return prepared
  const jwk = key as KeyholePrivateJwk
  const kid = String(jwk.kid)
  const hit = byKid.get(kid)
  if (
    hit !== undefined &&
    hit.d === jwk.d &&
    hit.x === jwk.x &&
    hit.y === jwk.y &&
    hit.crv === jwk.crv &&
    hit.kty === jwk.kty
  ) {
    return hit.agreement
  }
  const agreement = createKeyAgreement(jwk)
  if (hit === undefined && byKid.size >= MAX_CACHED_KEYS) byKid.delete(byKid.keys().next().value as string)
  byKid.set(kid, { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d, agreement })
  return agreement
}
