import type { Grant } from '../types.js'
import type { Admission } from './admission.js'
import type { RequestState } from './request-state.js'

/**
 * Stage 2: opens the token. Decryption, signature and issuer trust, expiry and revocation are the
 * opener's; its cache makes a repeated token cost microseconds. Returns the opener's own promise
 * (not an async wrapper around it: one promise and microtask hop fewer per request); the caller
 * stores the grant.
 *
 * @throws KeyholeError from the opener (`invalid_token`, `token_expired`, `token_revoked`, ...)
 * @example
 * ```ts
 * state.grant = await openGrant(state, admission)
 * ```
 */
export function openGrant(state: RequestState, admission: Admission): Promise<Grant> {
  state.phase = 'open'
  return admission.opener.open(state.token as string, state.info)
}
