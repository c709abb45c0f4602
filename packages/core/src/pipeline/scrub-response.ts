import type { RequestState } from './request-state.js'

/**
 * Where response scrubbing plugs in: every upstream response the engine passes on, and every
 * response a `keyholeAuth` gateway hands to `scrub(response)`, goes through here once, with the
 * request's state (its grant's secrets). For now it returns the response unchanged; the
 * scrubber that masks the grant's secrets in headers and bodies replaces this body.
 *
 * @example
 * ```ts
 * state.response = scrubResponse(state, upstream)
 * ```
 */
export function scrubResponse(_state: RequestState, response: Response): Response {
  return response
}
