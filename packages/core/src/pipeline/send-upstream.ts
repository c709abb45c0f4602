import { KeyholeError } from '../errors.js'
import type { Target } from '../policy/target.js'
import type { ForwardInit } from '../proxy/forward-fetch.js'
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
 * Stage 5: hands the built request to the forwarder; resolves with the upstream's response once
 * its headers arrive. A forwarder that applies the timeout itself gets the client's signal and
 * its promise is returned as it is (no wrapper on the hot path); any other gets a real
 * `AbortSignal` that the engine aborts when the client goes away or the timeout passes.
 *
 * @throws what the forwarder rejects with, or the abort reason (`upstream_timeout`, client gone)
 * @example
 * ```ts
 * const upstream = await sendUpstream(state, forwarding)
 * ```
 */
/**
 * What tells the engine the client went away: the adapter's `context.signal`; on Deno, whose
 * `Deno.serve` hands the engine its `info` (with a `completed` promise that rejects when the
 * client aborts) — read without touching `request.signal`, which makes Deno print a warning about
 * its legacy abort behaviour; elsewhere `request.signal`.
 */
function clientGoneSignal(state: RequestState): AbortSignal | undefined {
  const context = state.context
  if (context?.signal) return context.signal
  const completed = context?.completed
  if (completed !== undefined && typeof completed.then === 'function') {
    const controller = new AbortController()
    completed.then(
      () => {},
      () => controller.abort(CLIENT_GONE),
    )
    return controller.signal
  }
  return state.request.signal
}

export function sendUpstream(state: RequestState, forwarding: Forwarding): Promise<Response> {
  const target = state.target as Target
  const clientSignal = clientGoneSignal(state)
  state.clientSignal = clientSignal
  const timeoutMs = forwarding.timeoutMs
  const init: ForwardInit = {
    method: state.method,
    headers: state.headers as Record<string, string>,
    body: state.body,
    signal: clientSignal,
    redirect: 'manual',
    duplex: 'half',
    keyhole: forwarding.selfTimed
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
  // The forwarder applies the timeout and listens to the client's signal itself: no
  // controller, timer or listener of the engine's own on the hot path.
  if (forwarding.selfTimed) return forwarding.forward(state.url, init)
  return sendTimed(state.url, init, clientSignal, forwarding)
}

async function sendTimed(
  url: string,
  init: ForwardInit,
  clientSignal: AbortSignal | undefined,
  forwarding: Forwarding,
): Promise<Response> {
  const timeoutMs = forwarding.timeoutMs
  const controller = new AbortController()
  if (clientSignal) {
    if (clientSignal.aborted) controller.abort(CLIENT_GONE)
    else clientSignal.addEventListener('abort', abortForClient.bind(controller), { once: true })
  }
  init.signal = controller.signal
  // Forwarders reject as soon as the signal aborts (fetch does), so the deadline is just a
  // timer that aborts it.
  const timer = timeoutMs > 0 ? setTimeout(abortForTimeout, timeoutMs, controller, timeoutMs) : undefined
  let upstream: Response
  try {
    upstream = await forwarding.forward(url, init)
  } finally {
    clearTimeout(timer)
  }
  if (controller.signal.aborted) {
    // Headers arrived just as the deadline passed or the client left: too late to use them.
    upstream.body?.cancel().catch(() => {})
    throw controller.signal.reason
  }
  return upstream
}
