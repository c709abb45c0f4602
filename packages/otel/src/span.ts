import type { ProxyEvent } from '@keyhole/core'
import { errorType, methodLabel, scrubbedCount } from '@keyhole/core'
import { type Attributes, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api'

/** What {@link recordSpan} puts on a span besides the bounded HTTP attributes. */
export interface SpanOptions {
  /** The span's name. */
  name: string
  /** Whether the token's `jti`, `sub`, `kid` and issuer `kid` go on the span. */
  identity: boolean
  /** Whether the target path (never the query) goes on the span as `url.path`. */
  path: boolean
}

/**
 * Records one event as a finished SERVER span. The event arrives when the request is done (with
 * the headers, or once a scrubbed body has been read through), so the span ends now and starts
 * `timings.total + timings.body` ms earlier. The status is ERROR when the proxy
 * answered with an error code, or when the upstream answered 5xx.
 *
 * @example
 * ```ts
 * recordSpan(trace.getTracer('@keyhole/otel'), event, { name: 'keyhole.proxy', identity: true, path: true })
 * ```
 */
export function recordSpan(tracer: Tracer, event: ProxyEvent, options: SpanOptions): void {
  const end = Date.now()
  // `body` is absent from events of an engine older than this package: no time then.
  const start = end - event.timings.total - (event.timings.body ?? 0)
  const span = tracer.startSpan(options.name, {
    kind: SpanKind.SERVER,
    startTime: start,
    attributes: spanAttributes(event, options),
  })
  const error = errorType(event)
  // A client that went away is not the proxy's failure; a refused token or a failed upstream is.
  if (error && event.outcome !== 'client_aborted')
    span.setStatus({ code: SpanStatusCode.ERROR, message: error })
  span.end(end)
}

function spanAttributes(event: ProxyEvent, options: SpanOptions): Attributes {
  const method = methodLabel(event.method)
  const attributes: Attributes = {
    'http.request.method': method,
    'http.response.status_code': event.status,
    'keyhole.outcome': event.outcome,
  }
  if (method === '_OTHER') attributes['http.request.method_original'] = event.method
  if (event.scheme) attributes['url.scheme'] = event.scheme
  if (event.host !== undefined) attributes['server.address'] = event.host
  if (event.port !== undefined) attributes['server.port'] = event.port
  if (options.path && event.path !== undefined) attributes['url.path'] = event.path
  const error = errorType(event)
  if (error) attributes['error.type'] = error
  if (event.reason !== undefined) attributes['keyhole.reason'] = event.reason
  if (event.cacheHit !== undefined) attributes['keyhole.cache_hit'] = event.cacheHit
  if (options.identity) {
    // Token ids, not secrets: DESIGN allows them in events, and they are what ties a span to a
    // revocation. Operators who treat `sub` as personal data turn this off.
    if (event.jti !== undefined) attributes['keyhole.jti'] = event.jti
    if (event.sub !== undefined) attributes['keyhole.sub'] = event.sub
    // An attenuation layer's sub is the holder's label; the issuer-signed one goes beside it.
    if (event.signedSub !== undefined) attributes['keyhole.signed_sub'] = event.signedSub ?? ''
    if (event.kid !== undefined) attributes['keyhole.kid'] = event.kid
    if (event.issuerKid !== undefined) attributes['keyhole.issuer_kid'] = event.issuerKid
  }
  const scrubbed = scrubbedCount(event)
  if (scrubbed > 0) attributes['keyhole.scrubbed'] = scrubbed
  const t = event.timings
  attributes['keyhole.timing.token_ms'] = t.token
  attributes['keyhole.timing.open_ms'] = t.open
  attributes['keyhole.timing.revocation_ms'] = t.revocation
  attributes['keyhole.timing.policy_ms'] = t.policy
  attributes['keyhole.timing.proof_ms'] = t.proof
  attributes['keyhole.timing.upstream_ms'] = t.upstream
  return attributes
}
