import { toPassableResponse } from '../proxy/sanitize-headers.js'
import type { Admission } from './admission.js'
import type { Forwarding } from './forwarding.js'
import type { RequestState } from './request-state.js'
import { scrubResponse } from './scrub-response.js'

/**
 * Stage 6: turns the upstream's response into the client's: hop-by-hop and `X-Keyhole-*`
 * headers removed (unless the forwarder promises clean responses), then scrubbed. Bodies stay
 * streams. Also closes the upstream phase's timing (headers arrived).
 *
 * @example
 * ```ts
 * answer(state, admission, forwarding, await sendUpstream(state, forwarding)) // state.response
 * ```
 */
export function answer(
  state: RequestState,
  admission: Admission,
  forwarding: Forwarding,
  upstream: Response,
): void {
  state.upstreamMs = admission.tick() - state.phaseStart
  state.response = scrubResponse(state, forwarding.cleanResponses ? upstream : toPassableResponse(upstream))
}
