import type { KeyCurve } from '../types.js'
import { invalidToken } from './invalid-token.js'
import { segmentText } from './segment-text.js'

// Each compact segment is base64url without padding. Fixed sizes for ECDH-ES+A256KW/A256GCM:
// the wrapped 256-bit key is 40 bytes (54 chars), the IV 12 bytes (16), the tag 16 bytes (22).
// The whole token in one pass: the five segments' alphabet plus the dots between them (where the
// dots are, and that there are exactly four, is checked with indexOf).
const TOKEN_CHARS = /^[A-Za-z0-9_.-]+$/
const ENCRYPTED_KEY_CHARS = 54
const IV_CHARS = 16
const TAG_CHARS = 22
const COORDINATE = /^[A-Za-z0-9_-]{43}$/
const HEADER_MEMBERS = new Set(['alg', 'enc', 'kid', 'typ', 'cty', 'hosts', 'epk', 'jkt'])
// `JWT`: the plaintext is an issuer-signed grant (a JWS); `keyhole+att`: an attenuation layer.
// Absent: an unsigned grant (the old form).
const CONTENT_TYPES = new Set(['JWT', 'keyhole+att'])

let construct: (
  token: string,
  kid: string,
  hosts: readonly string[],
  header: Record<string, unknown>,
) => CheckedHeader

/**
 * What {@link checkHeader} returns: the parts of a keyhole token's protected header the opener
 * needs, and the parsed header itself, bound to the token it came from.
 *
 * Only `checkHeader` makes these (the `#token` brand cannot be forged), so a decryptor handed one
 * can trust that {@link CheckedHeader.header} is what the first segment of that exact token
 * parses to, and skip parsing it again (see {@link CheckedHeader.isFor}).
 */
export class CheckedHeader {
  readonly #token: string
  /** The header's `kid`: a key the keyring held when the header was checked. */
  readonly kid: string
  /** The header's `hosts` hint, a non-empty list of strings (compared with the claims later). */
  readonly hosts: readonly string[]
  /**
   * The protected header exactly as `JSON.parse` made it from the token's first segment (and the
   * token's five segments use only the base64url alphabet, all non-empty); its
   * members are exactly `alg`, `enc`, `kid`, `typ`, `hosts`, `epk` and optionally `cty` and `jkt`,
   * all checked (`jkt` against the claims, after decryption).
   */
  readonly header: Readonly<Record<string, unknown>>

  private constructor(token: string, kid: string, hosts: readonly string[], header: Record<string, unknown>) {
    this.#token = token
    this.kid = kid
    this.hosts = hosts
    this.header = header
  }

  static {
    // The one way to make one, and it stays in this module: checkHeader is its only caller.
    construct = (token, kid, hosts, header) => new CheckedHeader(token, kid, hosts, header)
  }

  /**
   * Whether `value` is a header `checkHeader` made from exactly this token (same string), so its
   * `header` may stand in for parsing the token's first segment again.
   */
  static isFor(value: unknown, token: string): value is CheckedHeader {
    return typeof value === 'object' && value !== null && #token in value && value.#token === token
  }
}

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
 * `epk` on that key's curve, `hosts` a list of strings, and `cty` absent or `JWT` (a signed grant). Anything else (`zip`, `crit`, `jku`,
 * `apu`, unknown members) is refused. Throws the opaque `invalid_token`.
 *
 * @example
 * ```ts
 * const { kid, hosts } = checkHeader(token, (kid) => keyring.curveOf(kid))
 * ```
 */
export function checkHeader(token: string, curveOf: (kid: string) => KeyCurve | undefined): CheckedHeader {
  // indexOf and slice rather than split: no array, and a sixth segment is one more indexOf.
  const d1 = token.indexOf('.')
  const d2 = token.indexOf('.', d1 + 1)
  const d3 = token.indexOf('.', d2 + 1)
  const d4 = token.indexOf('.', d3 + 1)
  if (d1 <= 0 || d2 < 0 || d3 < 0 || d4 < 0 || token.indexOf('.', d4 + 1) !== -1) throw invalidToken()
  if (
    d2 - d1 - 1 !== ENCRYPTED_KEY_CHARS ||
    d3 - d2 - 1 !== IV_CHARS ||
    d4 - d3 - 1 <= 0 ||
    token.length - d4 - 1 !== TAG_CHARS ||
    !TOKEN_CHARS.test(token)
  ) {
    throw invalidToken()
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(segmentText(token.slice(0, d1)))
  } catch {
    throw invalidToken()
  }
  if (!isPlainObject(parsed)) throw invalidToken()
  for (const member of Object.keys(parsed)) if (!HEADER_MEMBERS.has(member)) throw invalidToken()
  const { alg, enc, typ, cty, kid, hosts, epk } = parsed
  if (alg !== 'ECDH-ES+A256KW' || enc !== 'A256GCM' || typ !== 'keyhole+jwt' || typeof kid !== 'string') {
    throw invalidToken()
  }
  if (cty !== undefined && !(typeof cty === 'string' && CONTENT_TYPES.has(cty))) throw invalidToken()
  if (parsed.jkt !== undefined && typeof parsed.jkt !== 'string') throw invalidToken()
  const curve = curveOf(kid)
  if (curve === undefined || !epkMatches(epk, curve)) throw invalidToken()
  if (!Array.isArray(hosts) || hosts.length === 0 || hosts.some((h) => typeof h !== 'string'))
    throw invalidToken()
  return construct(token, kid, hosts, parsed)
}
