import type { KeyholeErrorCode } from '../../errors.js'
import type { HostTarget } from '../../policy/host-pattern.js'
import { emitEvent, type ProxyEvent, type ProxyEventListener } from '../../proxy/events.js'

const NO_TIME = { token: 0, open: 0, revocation: 0, policy: 0, proof: 0, upstream: 0, total: 0, body: 0 }

/**
 * Reports an answer the forward proxy gave itself, before the engine (no token, no token for
 * the host, a refused CONNECT, a request for another host inside a tunnel), as the one event of
 * that request: outcome and status as sent, the method, and the target as far as it was read.
 * Nothing from the token or the request's headers.
 *
 * @example
 * ```ts
 * void refuse(res, error, (response) => reportRefusal(onEvent, 'GET', response, target))
 * ```
 */
export function reportRefusal(
  listener: ProxyEventListener | undefined,
  method: string,
  response: Response,
  target?: HostTarget & { readonly path?: string },
): void {
  if (!listener) return
  const event: ProxyEvent = {
    outcome: (response.headers.get('x-keyhole-error') ?? 'bad_request') as KeyholeErrorCode,
    status: response.status,
    method,
    timings: { ...NO_TIME },
  }
  if (target) {
    event.scheme = target.scheme as 'http' | 'https'
    event.host = target.host
    event.port = target.port
    if (target.path !== undefined) event.path = target.path
  }
  emitEvent(listener, event)
}
