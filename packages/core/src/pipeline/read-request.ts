import { KeyholeError } from '../errors.js'
import { readToken } from '../proxy/read-token.js'
import { pathFromUrl } from '../proxy/resolve-target.js'
import type { Admission } from './admission.js'
import type { RequestState } from './request-state.js'

/**
 * Stage 1: reads the token (`X-Keyhole-Token`, `Authorization: Bearer`, `Proxy-Authorization`,
 * then the operator's `tokenHeaders`) and the raw target (open-mode path or gateway upstream plus path). Nothing is
 * opened or parsed beyond that. A body some middleware already read is refused here, before
 * any decryption: it can no longer be forwarded.
 *
 * @throws KeyholeError `missing_token`, `invalid_token`, `bad_target`, `bad_request`
 * @example
 * ```ts
 * readRequest(state, admission) // state.token, state.raw
 * ```
 */
export function readRequest(state: RequestState, admission: Admission): void {
  state.phase = 'token'
  state.token = readToken(state.request.headers, admission.tokenHeaders)
  state.raw = admission.resolve(state.context?.path ?? pathFromUrl(state.request.url))
  if (state.request.bodyUsed || state.context?.bodyRead === true) {
    throw new KeyholeError(
      'bad_request',
      'the request body was read before keyhole saw it, so it cannot be forwarded: mount keyhole before any body parser or middleware that reads the body',
      { reason: 'body_already_read' },
    )
  }
  const now = admission.tick()
  state.tokenMs = now - state.started
  state.phaseStart = now
}
