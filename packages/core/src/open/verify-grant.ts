import { compactVerify } from 'jose'
import { GRANT_TYP } from '../mint.js'
import { invalidToken } from './invalid-token.js'
import type { IssuerKey, IssuerSet } from './issuers.js'

const SEGMENT = /^[A-Za-z0-9_-]+$/
// Exactly what mint writes. `jwk`, `jku`, `x5u`, `x5c` would let a token name its own
// verification key; `crit` would ask for semantics keyhole does not implement.
const JWS_HEADER_MEMBERS = new Set(['alg', 'kid', 'typ'])
const ALGORITHMS = new Set(['ES256', 'EdDSA'])
const utf8 = new TextDecoder('utf-8', { fatal: true })

function decodeSegment(segment: string): string {
  const binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/'))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return utf8.decode(bytes)
}

/**
 * A signature check that replaces jose's WebCrypto one (the opener's `verify` option): given the
 * issuer key (algorithm already matched to the header), the JWS signing input (`header.payload`,
 * ASCII) and the signature segment (base64url), returns whether the signature is valid. Any
 * throw counts as invalid. `nodeVerify` in `@keyhole/core/node` is one.
 */
export type GrantVerifier = (
  issuer: Pick<IssuerKey, 'alg' | 'jwk' | 'kid'>,
  signingInput: string,
  signature: string,
) => boolean | Promise<boolean>

function decodeBytes(segment: string): Uint8Array {
  const binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/'))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** A verified grant: its claims (not yet validated) and the issuer key that signed them. */
export interface VerifiedGrant {
  readonly claims: unknown
  readonly issuer: IssuerKey
}

/**
 * Verifies the JWS inside a signed token: a compact JWS whose header is exactly `alg` (ES256 or
 * EdDSA), `kid` and `typ: keyhole-grant+jwt`, signed by a key a trusted issuer has, with that
 * key's own algorithm. Throws the opaque `invalid_token` with a `reason` for events:
 * `unknown_issuer` for a kid no trusted issuer has, `bad_signature` for everything else.
 *
 * @example
 * ```ts
 * const { claims, issuer } = await verifyGrant(jws, issuers)
 * ```
 */
export async function verifyGrant(
  jws: string,
  issuers: IssuerSet,
  verify?: GrantVerifier,
): Promise<VerifiedGrant> {
  const d1 = jws.indexOf('.')
  const d2 = jws.indexOf('.', d1 + 1)
  if (d1 <= 0 || d2 < 0 || jws.indexOf('.', d2 + 1) !== -1) throw invalidToken('bad_signature')
  const headerSegment = jws.slice(0, d1)
  if (!SEGMENT.test(headerSegment)) throw invalidToken('bad_signature')
  let header: unknown
  try {
    header = JSON.parse(decodeSegment(headerSegment))
  } catch {
    throw invalidToken('bad_signature')
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw invalidToken('bad_signature')
  for (const member of Object.keys(header)) {
    if (!JWS_HEADER_MEMBERS.has(member)) throw invalidToken('bad_signature')
  }
  const { alg, kid, typ } = header as Record<string, unknown>
  if (typ !== GRANT_TYP || typeof alg !== 'string' || !ALGORITHMS.has(alg) || typeof kid !== 'string') {
    throw invalidToken('bad_signature')
  }
  const issuer = issuers.get(kid) ?? (await issuers.find(kid))
  if (!issuer) throw invalidToken('unknown_issuer')
  // The key decides the algorithm, never the token: an EdDSA header on a P-256 key is refused.
  if (issuer.alg !== alg) throw invalidToken('bad_signature')
  let payload: Uint8Array
  try {
    if (verify) {
      const signature = jws.slice(d2 + 1)
      const payloadSegment = jws.slice(d1 + 1, d2)
      if (!SEGMENT.test(signature) || !SEGMENT.test(payloadSegment)) throw invalidToken('bad_signature')
      const answer = verify(issuer, jws.slice(0, d2), signature)
      if ((answer === true ? answer : await answer) !== true) throw invalidToken('bad_signature')
      payload = decodeBytes(payloadSegment)
    } else {
      payload = (await compactVerify(jws, issuer.key, { algorithms: [issuer.alg] })).payload
    }
  } catch {
    throw invalidToken('bad_signature')
  }
  try {
    return { claims: JSON.parse(utf8.decode(payload)), issuer }
  } catch {
    throw invalidToken('bad_signature')
  } finally {
    payload.fill(0)
  }
}
