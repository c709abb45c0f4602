import { compactVerify } from 'jose'
import { GRANT_TYP } from '../mint.js'
import type { IssuerAlg } from '../types.js'
import { invalidToken } from './invalid-token.js'
import type { IssuerKey, IssuerSet } from './issuers.js'
import { segmentText } from './segment-text.js'

const SEGMENT = /^[A-Za-z0-9_-]+$/
// Exactly what mint writes. `jwk`, `jku`, `x5u`, `x5c` would let a token name its own
// verification key; `crit` would ask for semantics keyhole does not implement.
const JWS_HEADER_MEMBERS = new Set(['alg', 'kid', 'typ'])
const ALGORITHMS = new Set(['ES256', 'EdDSA'])
const utf8 = new TextDecoder('utf-8', { fatal: true })

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

/** A verified grant: its claims (not yet validated) and the issuer key that signed them. */
export interface VerifiedGrant {
  readonly claims: unknown
  readonly issuer: IssuerKey
}

/** What a JWS header that passed every check says. */
interface JwsHeader {
  readonly alg: IssuerAlg
  readonly kid: string
}

// Every grant one issuer key signs has the same header segment, byte for byte, so the checked
// result is kept by that string: a repeat costs one Map lookup instead of a decode and a parse.
// Only headers that passed are kept (a refused one is checked afresh every time), and the answer
// is a pure function of the string. Bounded: a handful of issuer keys is the normal case.
const MAX_CHECKED_HEADERS = 64
const checkedHeaders = new Map<string, JwsHeader>()

function jwsHeader(segment: string): JwsHeader {
  const known = checkedHeaders.get(segment)
  if (known !== undefined) return known
  if (!SEGMENT.test(segment)) throw invalidToken('bad_signature')
  let header: unknown
  try {
    header = JSON.parse(segmentText(segment))
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
  const checked: JwsHeader = Object.freeze({ alg: alg as IssuerAlg, kid })
  if (checkedHeaders.size >= MAX_CHECKED_HEADERS) checkedHeaders.clear()
  checkedHeaders.set(segment, checked)
  return checked
}

function claimsOf(payloadSegment: string, issuer: IssuerKey): VerifiedGrant {
  try {
    return { claims: JSON.parse(segmentText(payloadSegment)), issuer }
  } catch {
    throw invalidToken('bad_signature')
  }
}

function claimsOfBytes(payload: Uint8Array, issuer: IssuerKey): VerifiedGrant {
  try {
    return { claims: JSON.parse(utf8.decode(payload)), issuer }
  } catch {
    throw invalidToken('bad_signature')
  } finally {
    payload.fill(0)
  }
}

/** The signature check proper, once the header passed and the issuer key is known. */
function checkSignature(
  jws: string,
  d1: number,
  d2: number,
  alg: IssuerAlg,
  issuer: IssuerKey,
  verify: GrantVerifier | undefined,
): VerifiedGrant | Promise<VerifiedGrant> {
  // The key decides the algorithm, never the token: an EdDSA header on a P-256 key is refused.
  if (issuer.alg !== alg) throw invalidToken('bad_signature')
  if (!verify) {
    return compactVerify(jws, issuer.key, { algorithms: [issuer.alg] }).then(
      ({ payload }) => claimsOfBytes(payload, issuer),
      () => {
        throw invalidToken('bad_signature')
      },
    )
  }
  const signature = jws.slice(d2 + 1)
  const payloadSegment = jws.slice(d1 + 1, d2)
  if (!SEGMENT.test(signature) || !SEGMENT.test(payloadSegment)) throw invalidToken('bad_signature')
  let answer: boolean | Promise<boolean>
  try {
    answer = verify(issuer, jws.slice(0, d2), signature)
  } catch {
    throw invalidToken('bad_signature')
  }
  // A synchronous verifier (nodeVerify) is answered without a turn of the microtask queue.
  if (answer === true) return claimsOf(payloadSegment, issuer)
  if (answer === false || typeof (answer as { then?: unknown })?.then !== 'function') {
    throw invalidToken('bad_signature')
  }
  return Promise.resolve(answer).then(
    (valid) => {
      if (valid !== true) throw invalidToken('bad_signature')
      return claimsOf(payloadSegment, issuer)
    },
    () => {
      throw invalidToken('bad_signature')
    },
  )
}

/**
 * Verifies the JWS inside a signed token: a compact JWS whose header is exactly `alg` (ES256 or
 * EdDSA), `kid` and `typ: keyhole-grant+jwt`, signed by a key a trusted issuer has, with that
 * key's own algorithm. Throws (or rejects with) the opaque `invalid_token` with a `reason` for
 * events: `unknown_issuer` for a kid no trusted issuer has, `bad_signature` for everything else.
 *
 * Synchronous when it can be: with a loaded issuer key and a synchronous `verify` (`nodeVerify`)
 * it returns the result itself, so an uncached open on Node awaits no promise here. Otherwise (the
 * issuer keys still loading, a JWKS to fetch, jose's WebCrypto check) it returns a promise.
 *
 * @example
 * ```ts
 * const verified = verifyGrant(jws, issuers, nodeVerify)
 * const { claims, issuer } = verified instanceof Promise ? await verified : verified
 * ```
 */
export function verifyGrant(
  jws: string,
  issuers: IssuerSet,
  verify?: GrantVerifier,
): VerifiedGrant | Promise<VerifiedGrant> {
  const d1 = jws.indexOf('.')
  const d2 = jws.indexOf('.', d1 + 1)
  if (d1 <= 0 || d2 < 0 || jws.indexOf('.', d2 + 1) !== -1) throw invalidToken('bad_signature')
  const { alg, kid } = jwsHeader(jws.slice(0, d1))
  const issuer = issuers.get(kid)
  if (issuer !== undefined) return checkSignature(jws, d1, d2, alg, issuer, verify)
  return issuers.find(kid).then((found) => {
    if (!found) throw invalidToken('unknown_issuer')
    return checkSignature(jws, d1, d2, alg, found, verify)
  })
}
