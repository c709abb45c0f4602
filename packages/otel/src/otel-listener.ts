import type { ProxyEvent, ProxyEventListener } from '@keyhole/core'
import { type Meter, metrics, type Tracer, trace } from '@opentelemetry/api'
import { createInstruments, recordMetrics } from './instruments.js'
import { recordSpan } from './span.js'
import { VERSION } from './version.js'

/** Options of {@link createOtelListener}. */
export interface OtelListenerOptions {
  /**
   * Where spans go. Default: the global tracer provider's tracer `@keyhole/otel` (a no-op until
   * an SDK registers one). `false`: no spans.
   */
  tracer?: Tracer | false
  /**
   * Where metrics go. Default: the global meter provider's meter `@keyhole/otel`. `false`: no
   * metrics.
   */
  meter?: Meter | false
  /** The span name. Default: `'keyhole.proxy'`. */
  spanName?: string
  /**
   * Put the token's `jti`, `sub`, `kid` and issuer `kid` on spans (never on metrics). Default:
   * true. Turn off when `sub` names a person and traces are kept where that matters.
   */
  spanIdentity?: boolean
  /** Put the target path (never the query) on spans as `url.path`. Default: true. */
  spanPath?: boolean
  /**
   * Label `http.client.request.duration` with the target's `server.address` and `server.port`.
   * Only authorized targets are recorded there, so the values are bounded by the hosts the
   * grants name, but a grant for `*.example.com` lets the sandbox choose the subdomain: turn
   * this off when grants use wildcards. Default: true.
   */
  targetHost?: boolean
}

/**
 * Returns a {@link ProxyEventListener} that turns every proxy event into an OpenTelemetry span
 * (`keyhole.proxy`, kind SERVER) and metrics: `http.server.request.duration`,
 * `http.client.request.duration`, `keyhole.requests` by `keyhole.outcome`, `keyhole.opens`,
 * `keyhole.cache_hits`, `keyhole.revocation.errors` and `keyhole.scrubbed`. Metric attributes
 * are bounded and never carry a token id, path or query; spans may carry the token ids.
 *
 * @example
 * ```ts
 * import { createProxy } from '@keyhole/core'
 * import { createOtelListener } from '@keyhole/otel'
 *
 * const proxy = createProxy({ opener, onEvent: createOtelListener() })
 * ```
 */
export function createOtelListener(options: OtelListenerOptions = {}): ProxyEventListener {
  const tracer =
    options.tracer === false ? undefined : (options.tracer ?? trace.getTracer('@keyhole/otel', VERSION))
  const meter =
    options.meter === false ? undefined : (options.meter ?? metrics.getMeter('@keyhole/otel', VERSION))
  const instruments = meter ? createInstruments(meter) : undefined
  const spanOptions = {
    name: options.spanName ?? 'keyhole.proxy',
    identity: options.spanIdentity ?? true,
    path: options.spanPath ?? true,
  }
  const metricOptions = { targetHost: options.targetHost ?? true }
  return (event: ProxyEvent) => {
    if (tracer) recordSpan(tracer, event, spanOptions)
    if (instruments) recordMetrics(instruments, event, metricOptions)
  }
}
