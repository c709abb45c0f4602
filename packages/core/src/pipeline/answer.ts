import { toPassableResponse } from '../proxy/sanitize-headers.js'
import type { Forwarding } from './forwarding.js'
import type { RequestState } from './request-state.js'
import { scrubResponse } from './scrub-response.js'

/**
 * Stage 6: turns the upstream's response into the client's: hop-by-hop and `X-Keyhole-*`
 * headers removed (unless the forwarder promises clean responses), then scrubbed. Bodies stay
 * streams.
 *
 * @example
 * ```ts
 * answer(state, forwarding) // state.response: what goes back to the client
 * ```
 */
export function answer(state: RequestState, forwarding: Forwarding): void {
  const upstream = state.response as Response
  state.response = scrubResponse(state, forwarding.cleanResponses ? upstream : toPassableResponse(upstream))
}
