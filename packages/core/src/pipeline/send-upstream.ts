import { KeyholeError } from '../errors.js'
import type { Target } from '../policy/target.js'
import type { ForwardInit } from '../proxy/forward-fetch.js'
import type { Admission } from './admission.js'
import type { Forwarding } from './forwarding.js'
import type { RequestState } from './request-state.js'

/** The reason the engine aborts the upstream request with when the client goes away. */
export const CLIENT_GONE = new KeyholeError('upstream_unreachable', 'the client closed the connection')

function abortForTimeout(controller: AbortController, ms: number): void {
  controller.abort(
    new KeyholeError('upstream_timeout', `the upstream sent no response headers within ${ms} ms`),
  )
}

function abortForClient(this: AbortController): void {
  this.abort(CLIENT_GONE)
}

/**
 * Stage 5: hands the built request to the forwarder and waits for the response headers. A
 * forwarder that applies the timeout itself gets the client's signal; any other gets a real
 * `AbortSignal` the engine aborts when the client goes away or the timeout passes.
 *
 * @throws what the forwarder rejects with, or the abort reason (`upstream_timeout`, client gone)
 * @example
 * ```ts
 * await sendUpstream(state, admission, forwarding) // state.response: the upstream's response
 * ```
 */
export async function sendUpstream(
  state: RequestState,
  admission: Admission,
  forwarding: Forwarding,
): Promise<void> {
  const target = state.target as Target
  const clientSignal = state.context?.signal ?? state.request.signal
  state.clientSignal = clientSignal
  const timeoutMs = forwarding.timeoutMs
  const selfTimed = forwarding.selfTimed
  const init: ForwardInit = {
    method: state.method,
    headers: state.headers as Record<string, string>,
    body: state.body,
    signal: clientSignal,
    redirect: 'manual',
    duplex: 'half',
    keyhole: selfTimed
      ? {
          scheme: target.scheme,
          host: target.host,
          port: target.port,
          path: state.path,
          privateAddresses: state.privateAddresses,
          timeout: timeoutMs,
        }
      : {
          scheme: target.scheme,
          host: target.host,
          port: target.port,
          path: state.path,
          privateAddresses: state.privateAddresses,
        },
  }
  let upstream: Response
  if (selfTimed) {
    // The forwarder applies the timeout and listens to the client's signal itself: no
    // controller, timer or listener of the engine's own on the hot path.
    upstream = await forwarding.forward(state.url, init)
  } else {
    const controller = new AbortController()
    if (clientSignal) {
      if (clientSignal.aborted) controller.abort(CLIENT_GONE)
      else clientSignal.addEventListener('abort', abortForClient.bind(controller), { once: true })
    }
    init.signal = controller.signal
    // Forwarders reject as soon as the signal aborts (fetch does), so the deadline is just a
    // timer that aborts it.
    const timer = timeoutMs > 0 ? setTimeout(abortForTimeout, timeoutMs, controller, timeoutMs) : undefined
    try {
      upstream = await forwarding.forward(state.url, init)
    } finally {
      clearTimeout(timer)
    }
    if (controller.signal.aborted) {
      // Headers arrived just as the deadline passed or the client left: too late to use them.
      upstream.body?.cancel().catch(() => {})
      throw controller.signal.reason
    }
  }
  state.response = upstream
  state.upstreamMs = admission.tick() - state.phaseStart
}
