import { base64url } from 'jose'
import type { KeyCurve } from '../types.js'
import { invalidToken } from './invalid-token.js'

/** The parts of a keyhole token's protected header the opener needs after its own checks. */
export interface CheckedHeader {
  readonly kid: string
  readonly hosts: readonly string[]
}

// Each compact segment is base64url without padding. Fixed sizes for ECDH-ES+A256KW/A256GCM:
// the wrapped 256-bit key is 40 bytes (54 chars), the IV 12 bytes (16), the tag 16 bytes (22).
const SEGMENT = /^[A-Za-z0-9_-]+$/
const ENCRYPTED_KEY_CHARS = 54
const IV_CHARS = 16
const TAG_CHARS = 22
const COORDINATE = /^[A-Za-z0-9_-]{43}$/
const HEADER_MEMBERS = new Set(['alg', 'enc', 'kid', 'typ', 'hosts', 'epk'])
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function epkMatches(epk: unknown, curve: KeyCurve): boolean {
  if (!isPlainObject(epk)) return false
  const keys = Object.keys(epk)
  if (curve === 'P-256') {
    return (
      keys.length === 4 &&
      epk.kty === 'EC' &&
      epk.crv === 'P-256' &&
      typeof epk.x === 'string' &&
      COORDINATE.test(epk.x) &&
      typeof epk.y === 'string' &&
      COORDINATE.test(epk.y)
    )
  }
  return (
    keys.length === 3 &&
    epk.kty === 'OKP' &&
    epk.crv === 'X25519' &&
    typeof epk.x === 'string' &&
    COORDINATE.test(epk.x)
  )
}

/**
 * Checks a token's shape and protected header before any cryptography runs: exactly five
 * base64url segments of the sizes keyhole produces, and a header of exactly the members keyhole
 * writes — `alg` ECDH-ES+A256KW, `enc` A256GCM, `typ` keyhole+jwt, a `kid` the keyring holds, an
 * `epk` on that key's curve, `hosts` a list of strings. Anything else (`zip`, `crit`, `jku`,
 * `apu`, unknown members) is refused. Throws the opaque `invalid_token`.
 */
export function checkHeader(token: string, curveOf: (kid: string) => KeyCurve | undefined): CheckedHeader {
  const parts = token.split('.')
  if (parts.length !== 5) throw invalidToken()
  const [header, encryptedKey, iv, ciphertext, tag] = parts as [string, string, string, string, string]
  if (
    encryptedKey.length !== ENCRYPTED_KEY_CHARS ||
    iv.length !== IV_CHARS ||
    tag.length !== TAG_CHARS ||
    !SEGMENT.test(header) ||
    !SEGMENT.test(encryptedKey) ||
    !SEGMENT.test(iv) ||
    !SEGMENT.test(ciphertext) ||
    !SEGMENT.test(tag)
  ) {
    throw invalidToken()
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(strictUtf8.decode(base64url.decode(header)))
  } catch {
    throw invalidToken()
  }
  if (!isPlainObject(parsed)) throw invalidToken()
  for (const member of Object.keys(parsed)) if (!HEADER_MEMBERS.has(member)) throw invalidToken()
  const { alg, enc, typ, kid, hosts, epk } = parsed
  if (alg !== 'ECDH-ES+A256KW' || enc !== 'A256GCM' || typ !== 'keyhole+jwt' || typeof kid !== 'string') {
    throw invalidToken()
  }
  const curve = curveOf(kid)
  if (curve === undefined || !epkMatches(epk, curve)) throw invalidToken()
  if (!Array.isArray(hosts) || hosts.length === 0 || hosts.some((h) => typeof h !== 'string'))
    throw invalidToken()
  return { kid, hosts }
}
