import { compileAdmission } from '../pipeline/admission.js'
import { answer } from '../pipeline/answer.js'
import { applyInjectors, needsBody } from '../pipeline/apply-injectors.js'
import { authorizeTarget } from '../pipeline/authorize-target.js'
import { bufferBody } from '../pipeline/buffer-body.js'
import { buildUpstream } from '../pipeline/build-upstream.js'
import { checkBodyMethod, restrictsMethods } from '../pipeline/check-body-method.js'
import { checkProof } from '../pipeline/check-proof.js'
import { fail } from '../pipeline/fail.js'
import { compileForwarding } from '../pipeline/forwarding.js'
import { openGrant } from '../pipeline/open-grant.js'
import type { ProxyContext, ProxyOptions } from '../pipeline/options.js'
import { readRequest } from '../pipeline/read-request.js'
import { emitRequestEvent } from '../pipeline/request-event.js'
import { startRequest } from '../pipeline/request-state.js'
import { sendUpstream } from '../pipeline/send-upstream.js'
import type { Grant } from '../types.js'
import type { InjectionPlan } from './inject-credentials.js'

export type { AdmissionOptions, ProxyContext, ProxyOpener, ProxyOptions } from '../pipeline/options.js'

/** The proxy as a web-standard handler. */
export type ProxyHandler = (request: Request, context?: ProxyContext) => Promise<Response>

/**
 * Creates the keyhole proxy: a web-standard `(request, context?) => Promise<Response>` handler
 * that reads the token, opens it, checks the target against the grant and the operator's
 * bounds (`allowHosts`, the private-address rule), strips every header that could carry or leak
 * authority, injects the grant's credentials and forwards with `redirect: 'manual'`, streaming
 * both bodies. Upstream responses, errors included, come back untouched apart from hop-by-hop
 * headers; the proxy's own errors are JSON with `X-Keyhole-Error`. Mount it with
 * `@keyhole/hono` or `@keyhole/express`, or call it directly.
 *
 * Each request runs one sequence of stages over one request state (`src/pipeline/`): read token
 * → open → authorize → build the upstream request → send → answer → event. `keyholeAuth` runs
 * the same stages up to the build.
 *
 * Throws `bad_request` at once for a setup that would be unsafe: an opener that accepts unsigned
 * tokens without `allowHosts`, or (in open mode) a forwarder that does not check the addresses it
 * dials without `allowHosts`; and for bad token header names, host patterns or CIDR ranges.
 *
 * @example
 * ```ts
 * import { createNodeForwarder } from '@keyhole/core/node'
 *
 * const opener = createOpener({ keyring, issuers: [issuerPublicJwk] })
 * const handle = createProxy({ opener, forward: createNodeForwarder(), onEvent: (e) => log.info(e) })
 * // GET /https/api.github.com/user with X-Keyhole-Token: <token>
 * const response = await handle(request, { path: '/https/api.github.com/user' })
 * ```
 */
export function createProxy(options: ProxyOptions): ProxyHandler {
  const admission = compileAdmission(options)
  const forwarding = compileForwarding(options, admission)
  const onEvent = admission.onEvent

  return async function keyholeProxy(request, context) {
    const state = startRequest(admission, request, context)
    try {
      readRequest(state, admission)
      state.grant = await openGrant(state, admission)
      authorizeTarget(state, admission)
      const grant = state.grant as Grant
      if (grant.cnf !== undefined) await checkProof(state, admission)
      if (restrictsMethods(grant)) await checkBodyMethod(state, admission.maxBufferedBody)
      const plan = state.plan as InjectionPlan
      if (plan.steps.length > 0 && needsBody(plan, request.headers)) {
        await bufferBody(state, admission.maxBufferedBody)
      }
      buildUpstream(state, admission)
      if (plan.steps.length > 0) await applyInjectors(state, admission, forwarding)
      const answered = answer(state, admission, forwarding, await sendUpstream(state, forwarding))
      if (answered !== undefined) await answered
    } catch (thrown) {
      fail(state, admission, thrown)
      if (context?.respond) state.response = context.respond(state.response as Response)
    }
    if (onEvent) {
      state.handedBack = admission.tick()
      // With the body being scrubbed, the event waits for its count (read through or cancelled).
      if (state.scrubbed === 'scrubbing') state.onScrubbed = () => emitRequestEvent(state, admission)
      else emitRequestEvent(state, admission)
    }
    return state.response as Response
  }
}
