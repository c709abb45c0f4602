import type { ProxyEvent } from './events.js'

// Which parts of a ProxyEvent may become a metric label (bounded cardinality, nothing the sandbox
// typed freely), shared by @keyhole/otel and keyhole serve --metrics.

// The methods OpenTelemetry's HTTP semantic conventions know, matched case-sensitively as they
// require. Anything else becomes `_OTHER`: the method is chosen by the sandbox, and a label that
// echoed it would let untrusted code mint new time series at will.
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
])

// Outcomes reached only after the target was authorized: the request went (or was about to go)
// to the upstream the grant names.
const UPSTREAM_OUTCOMES = new Set<string>([
  'ok',
  'upstream_unreachable',
  'upstream_timeout',
  'response_not_scrubbable',
])

/** What a target host becomes in a metric label when the target was not authorized. */
export const OTHER_HOST = 'other'

/**
 * The request method as a bounded label: one of the semantic conventions' known methods, else
 * `_OTHER`.
 *
 * @example
 * ```ts
 * methodLabel('GET') // 'GET'
 * methodLabel('PROPFIND') // '_OTHER'
 * ```
 */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER'
}

/**
 * Whether the event's target passed the grant's policy: the upstream answered, failed or was
 * being waited on. Before that, the host is whatever the sandbox wrote in the URL.
 *
 * @example
 * ```ts
 * if (targetAuthorized(event)) histogram.record(event.timings.upstream / 1000)
 * ```
 */
export function targetAuthorized(event: ProxyEvent): boolean {
  return UPSTREAM_OUTCOMES.has(event.outcome) || event.timings.upstream > 0
}

/**
 * The target host as a metric label: the host for an authorized target (bounded by the grants
 * the proxy honours), {@link OTHER_HOST} for a request refused before authorization (whose host
 * the sandbox chose freely).
 *
 * @example
 * ```ts
 * attributes['server.address'] = targetHostLabel(event)
 * ```
 */
export function targetHostLabel(event: ProxyEvent): string {
  return targetAuthorized(event) && event.host !== undefined ? event.host : OTHER_HOST
}

/**
 * The number of secret values the engine scrubbed from the response, once core reports it
 * (`event.scrubbed`); 0 when absent.
 *
 * @example
 * ```ts
 * const n = scrubbedCount(event)
 * if (n > 0) counter.add(n)
 * ```
 */
export function scrubbedCount(event: ProxyEvent): number {
  const count = (event as ProxyEvent & { scrubbed?: unknown }).scrubbed
  return typeof count === 'number' && Number.isFinite(count) && count > 0 ? count : 0
}

/**
 * Whether the opener decrypted this request's token instead of finding it in its cache. A token
 * that failed to open has no `cacheHit` but did cost a decryption, seen in its open time.
 *
 * @example
 * ```ts
 * if (uncachedOpen(event)) opens.add(1)
 * ```
 */
export function uncachedOpen(event: ProxyEvent): boolean {
  return event.cacheHit === false || (event.cacheHit === undefined && event.timings.open > 0)
}

/**
 * The semantic conventions' `error.type`: the keyhole code when the proxy answered itself, the
 * status code for an upstream 5xx, none otherwise. Both are bounded.
 *
 * @example
 * ```ts
 * const type = errorType(event)
 * if (type) attributes['error.type'] = type
 * ```
 */
export function errorType(event: ProxyEvent): string | undefined {
  if (event.outcome !== 'ok') return event.outcome
  return event.status >= 500 ? String(event.status) : undefined
}
