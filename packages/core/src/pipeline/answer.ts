import { toPassableResponse } from '../proxy/sanitize-headers.js'
import type { Admission } from './admission.js'
import type { Forwarding } from './forwarding.js'
import type { RequestState } from './request-state.js'
import { scrubCheckedResponse, scrubSmallBody } from './scrub-response.js'

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
function onScrubbedFor(state: RequestState): (count: number) => void {
  state.scrubbed = 'scrubbing'
  return (count) => {
    state.scrubbed = count
    state.onScrubbed?.()
  }
}

function invalidateCredentials(state: RequestState): void {
  for (const step of state.plan?.steps ?? []) {
    const injector = step.injector as { invalidate?: (entry: unknown, issuerKid?: string) => void }
    if (typeof injector.invalidate === 'function') injector.invalidate(step.entry, state.grant?.issuerKid)
  }
}

export function answer(
  state: RequestState,
  admission: Admission,
  forwarding: Forwarding,
  upstream: Response,
): void | Promise<void> {
  state.upstreamMs = admission.tick() - state.phaseStart
  // An OAuth2 access token the upstream refuses is dropped, so the next request fetches a new
  // one; this answer (the 401) passes through, never retried.
  if (upstream.status === 401) invalidateCredentials(state)
  const passable = forwarding.cleanResponses ? upstream : toPassableResponse(upstream)
  const onDone = onScrubbedFor(state)
  const small = scrubSmallBody(state, admission, passable, onDone)
  if (small instanceof Promise) {
    return small.then((response) => {
      state.response = response
    })
  }
  if (small !== undefined) {
    state.response = small
    return
  }
  const scrubbed = scrubCheckedResponse(state, admission, forwarding, passable, onDone)
  if (scrubbed instanceof Response) state.response = scrubbed
  else
    return scrubbed.then((response) => {
      state.response = response
    })
}
