import type { Admission } from './admission.js'
import type { RequestState } from './request-state.js'

/**
 * Stage 2: opens the token. Decryption, signature and issuer trust, expiry and revocation are the
 * opener's; its cache makes a repeated token cost microseconds.
 *
 * @throws KeyholeError from the opener (`invalid_token`, `token_expired`, `token_revoked`, ...)
 * @example
 * ```ts
 * await openGrant(state, admission) // state.grant
 * ```
 */
export async function openGrant(state: RequestState, admission: Admission): Promise<void> {
  state.phase = 'open'
  state.grant = await admission.opener.open(state.token as string, state.info)
}
