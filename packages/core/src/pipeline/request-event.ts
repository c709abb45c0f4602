import { parseTarget, type Target } from '../policy/target.js'
import { emitEvent, type ProxyEvent, type ProxyEventListener } from '../proxy/events.js'
import type { Admission } from './admission.js'
import type { RequestState } from './request-state.js'

/**
 * The last stage: one {@link ProxyEvent} per request, to the operator's `onEvent` (call it only
 * when there is one). Token ids from the grant, or from the opener's report when the token was
 * opened and then refused; the target as far as it was read; phase timings. Nothing secret.
 *
 * @example
 * ```ts
 * if (admission.onEvent) emitRequestEvent(state, admission)
 * ```
 */
export function emitRequestEvent(state: RequestState, admission: Admission): void {
  const response = state.response as Response
  const outcome = state.outcome
  const info = state.info ?? { cacheHit: false, openMs: 0, revocationMs: 0 }
  const now = admission.tick()
  const handedBack = state.handedBack ?? now
  const event: ProxyEvent = {
    outcome,
    status: outcome === 'client_aborted' ? 499 : response.status,
    method: state.method,
    timings: {
      token: state.tokenMs,
      open: info.openMs,
      revocation: info.revocationMs,
      policy: state.policyMs,
      proof: state.proofMs,
      upstream: state.upstreamMs,
      total: handedBack - state.started,
      body: now - handedBack,
    },
  }
  const grant = state.grant
  if (grant) {
    event.jti = grant.jti
    event.kid = grant.kid
    if (grant.sub !== undefined) event.sub = grant.sub
    if (grant.signedSub !== undefined) event.signedSub = grant.signedSub
    if (grant.issuerKid !== undefined) event.issuerKid = grant.issuerKid
    event.cacheHit = info.cacheHit
  } else if (info.jti !== undefined) {
    // Opened, then refused (expired, not yet valid, revoked): still say which token it was.
    event.jti = info.jti
    if (info.kid !== undefined) event.kid = info.kid
    if (info.sub !== undefined) event.sub = info.sub
    if (info.signedSub !== undefined) event.signedSub = info.signedSub
    if (info.issuerKid !== undefined) event.issuerKid = info.issuerKid
    event.cacheHit = info.cacheHit
  }
  if (state.reason !== undefined) event.reason = state.reason
  if (grant?.chain !== undefined) event.chain = grant.chain
  if (typeof state.scrubbed === 'number' && state.response !== undefined && outcome === 'ok')
    event.scrubbed = state.scrubbed
  const raw = state.raw
  if (raw) {
    event.scheme = raw.scheme
    event.path = raw.path
    let where: Target | undefined = state.target
    if (!where) {
      try {
        where = parseTarget(raw.url)
      } catch {
        // Unparsable target: the event keeps what the path said.
      }
    }
    if (where) {
      event.host = where.host
      event.port = where.port
      event.path = where.path
    }
  }
  emitEvent(admission.onEvent as ProxyEventListener, event)
}
