import type { Target } from '../policy/target.js'
import { type InjectionPlan, injectQuery } from '../proxy/inject-credentials.js'
import { copyRequestHeaders } from '../proxy/sanitize-headers.js'
import type { Admission } from './admission.js'
import type { RequestState } from './request-state.js'

/**
 * Stage 4: builds the upstream request: copies the inbound headers once, without everything that
 * could carry or leak authority (token headers, `Authorization`, hop-by-hop, `Forwarded`, ...,
 * and headers the grant injects), sets the grant's headers and cookie, appends its query
 * parameters, and takes the body (none for GET and HEAD).
 *
 * @example
 * ```ts
 * buildUpstream(state, admission) // state.url, state.path, state.headers, state.body
 * ```
 */
export function buildUpstream(state: RequestState, admission: Admission): void {
  state.phase = 'upstream'
  const target = state.target as Target
  const plan = state.plan as InjectionPlan
  const method = state.method
  const request = state.request
  const bodyless = method === 'GET' || method === 'HEAD'
  const headers = copyRequestHeaders(request.headers, admission.stripRules, plan, bodyless)
  for (const [name, value] of plan.headers) headers[name] = value
  // A body the scrubber must search is asked for in the clear (it still decodes what comes anyway).
  if (admission.scrub === true) headers['accept-encoding'] = 'identity'
  if (plan.cookieHeader !== undefined) headers.cookie = plan.cookieHeader
  const path = target.path + injectQuery(target.search, plan)
  state.path = path
  state.url = target.href.slice(0, target.href.length - target.search.length - target.path.length) + path
  state.headers = headers
  const buffered = state.buffered
  if (buffered !== undefined && !bodyless) {
    // A stage read the body (and may have changed it): it goes as bytes, with its own length.
    state.body = buffered
    headers['content-length'] = String(buffered.byteLength)
  } else {
    state.body = bodyless ? null : request.body
  }
}
