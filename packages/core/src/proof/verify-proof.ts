import { base64url, calculateJwkThumbprint, importJWK } from 'jose'
import { KeyholeError } from '../errors.js'
import type { ReplayCache } from './replay-cache.js'

/** The header that carries a proof of possession. */
export const PROOF_HEADER = 'keyhole-proof'

/** The challenge sent with every `invalid_proof`. */
export const PROOF_CHALLENGE = 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"'

const SEGMENT = /^[A-Za-z0-9_-]+$/
const HEADER_MEMBERS = new Set(['typ', 'alg', 'jwk'])
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']
const MAX_PROOF_CHARS = 4096
const MAX_JTI_CHARS = 256
const utf8 = new TextDecoder('utf-8', { fatal: true })
const ascii = new TextEncoder()

/** What a proof is checked against. */
export interface ProofCheck {
  /** The `Keyhole-Proof` header as received (null when absent). */
  readonly proof: string | null
  /** The thumbprint the token is bound to (`grant.cnf.jkt`). */
  readonly jkt: string
  /** The request method. */
  readonly method: string
  /** The target URL the request is authorized for, without query or fragment ({@link proofTargetUrl}). */
  readonly htu: string
  /** The token exactly as sent; `ath` must be its SHA-256. */
  readonly token: string
  /** Now, in seconds since the epoch. */
  readonly nowSeconds: number
  /** How far `iat` may be from now, either side, in seconds. */
  readonly window: number
  /** Extra slack on top of `window` for clock differences, in seconds. */
  readonly tolerance: number
  /** Where used proof ids are claimed. */
  readonly replay: ReplayCache
}

function invalidProof(reason: string): KeyholeError {
  return new KeyholeError('invalid_proof', 'the proof of possession is missing or not valid', { reason })
}

interface ProofKey {
  readonly jkt: string
  readonly alg: 'ES256' | 'EdDSA'
  readonly key: CryptoKey
}

// Imported proof keys by the header's `jwk` JSON text: a holder signs every request with one key,
// so its thumbprint and import are computed once, and each proof costs one signature check.
const proofKeys = new Map<string, Promise<ProofKey>>()
const MAX_PROOF_KEYS = 10_000

async function importProofKey(jwk: Record<string, unknown>, alg: 'ES256' | 'EdDSA'): Promise<ProofKey> {
  const ec = alg === 'ES256'
  if (ec ? jwk.kty !== 'EC' || jwk.crv !== 'P-256' : jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') {
    throw invalidProof('bad_key')
  }
  if (typeof jwk.x !== 'string' || (ec && typeof jwk.y !== 'string')) throw invalidProof('bad_key')
  const material = ec
    ? { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y as string }
    : { kty: 'OKP', crv: 'Ed25519', x: jwk.x }
  try {
    const [jkt, key] = await Promise.all([
      calculateJwkThumbprint(material, 'sha256'),
      importJWK(material, alg) as Promise<CryptoKey>,
    ])
    return { jkt, alg, key }
  } catch {
    throw invalidProof('bad_key')
  }
}

function proofKey(jwk: Record<string, unknown>, alg: 'ES256' | 'EdDSA'): Promise<ProofKey> {
  const id = `${alg}:${JSON.stringify(jwk)}`
  let pending = proofKeys.get(id)
  if (!pending) {
    pending = importProofKey(jwk, alg)
    pending.catch(() => proofKeys.delete(id))
    if (proofKeys.size >= MAX_PROOF_KEYS) proofKeys.delete(proofKeys.keys().next().value as string)
    proofKeys.set(id, pending)
  }
  return pending
}

function decodeJson(segment: string): unknown {
  return JSON.parse(utf8.decode(base64url.decode(segment)))
}

/**
 * The `htu` a proof must name for a target: scheme and host in lower case (IPv6 in brackets), the
 * port only when it is not the scheme's default, the path exactly as forwarded, no query.
 *
 * @example
 * ```ts
 * proofTargetUrl({ scheme: 'https', host: 'api.github.com', port: 443, path: '/user' })
 * // 'https://api.github.com/user'
 * ```
 */
export function proofTargetUrl(target: {
  readonly scheme: string
  readonly host: string
  readonly port: number
  readonly path: string
}): string {
  const standard =
    (target.scheme === 'https' && target.port === 443) || (target.scheme === 'http' && target.port === 80)
  const host = target.host.includes(':') && !target.host.startsWith('[') ? `[${target.host}]` : target.host
  return `${target.scheme}://${host.toLowerCase()}${standard ? '' : `:${target.port}`}${target.path}`
}

/**
 * Checks a `Keyhole-Proof` (an RFC 9449 DPoP-shaped JWS) for a request made with a key-bound
 * token: `typ: dpop+jwt`, `alg` ES256 or EdDSA, a public `jwk` whose thumbprint is the token's
 * `cnf.jkt`, a valid signature, `htm` and `htu` equal to the authorized request, `iat` within the
 * window, `ath` the SHA-256 of the token, and a `jti` never claimed before for that key. Any
 * failure throws `invalid_proof` (its `reason` says which check, for events only); a replay
 * cache that cannot answer throws `revocation_unavailable`.
 *
 * @example
 * ```ts
 * await verifyProof({ proof: request.headers.get('keyhole-proof'), jkt: grant.cnf.jkt, method, htu,
 *   token, nowSeconds: Date.now() / 1000, window: 60, tolerance: 30, replay })
 * ```
 */
export async function verifyProof(check: ProofCheck): Promise<void> {
  const { proof } = check
  if (proof === null || proof.length === 0) throw invalidProof('missing')
  if (proof.length > MAX_PROOF_CHARS) throw invalidProof('malformed')
  const parts = proof.split('.')
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) throw invalidProof('malformed')
  let header: Record<string, unknown>
  let claims: Record<string, unknown>
  try {
    header = decodeJson(parts[0]!) as Record<string, unknown>
    claims = decodeJson(parts[1]!) as Record<string, unknown>
  } catch {
    throw invalidProof('malformed')
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw invalidProof('malformed')
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw invalidProof('malformed')
  for (const member of Object.keys(header)) if (!HEADER_MEMBERS.has(member)) throw invalidProof('bad_header')
  const { typ, alg, jwk } = header
  if (typ !== 'dpop+jwt' || (alg !== 'ES256' && alg !== 'EdDSA')) throw invalidProof('bad_header')
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw invalidProof('bad_header')
  const members = jwk as Record<string, unknown>
  if (PRIVATE_MEMBERS.some((m) => m in members)) throw invalidProof('private_key')

  const key = await proofKey(members, alg)
  if (key.jkt !== check.jkt) throw invalidProof('wrong_key')
  let valid = false
  try {
    valid = await crypto.subtle.verify(
      alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' },
      key.key,
      base64url.decode(parts[2]!) as Uint8Array<ArrayBuffer>,
      ascii.encode(`${parts[0]}.${parts[1]}`),
    )
  } catch {
    valid = false
  }
  if (!valid) throw invalidProof('bad_signature')

  const { htm, htu, iat, jti, ath } = claims
  if (htm !== check.method) throw invalidProof('wrong_method')
  if (htu !== check.htu) throw invalidProof('wrong_target')
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalidProof('malformed')
  if (Math.abs(check.nowSeconds - iat) > check.window + check.tolerance) throw invalidProof('stale')
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_CHARS)
    throw invalidProof('malformed')
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', ascii.encode(check.token)))
  if (ath !== base64url.encode(digest)) throw invalidProof('wrong_token')

  // Kept until no clock could still accept this proof's iat.
  const expiresAt = new Date((iat + check.window + check.tolerance) * 1000)
  let first: boolean
  try {
    first = await check.replay.claim(`${key.jkt}:${jti}`, expiresAt)
  } catch (err) {
    throw new KeyholeError('revocation_unavailable', 'the proof replay cache failed', { cause: err })
  }
  if (!first) throw invalidProof('replayed')
}
