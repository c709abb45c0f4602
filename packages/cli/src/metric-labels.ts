import type { ProxyEvent } from '@keyhole/core'

// The same bounded-label rules as @keyhole/otel (packages/otel/src/labels.ts), kept here so the
// CLI bundle does not pull in OpenTelemetry: a label becomes a time series, and the sandbox
// chooses most of a request, so nothing it typed freely may become one.

// The methods the HTTP semantic conventions know, matched case-sensitively; anything else is
// `_OTHER`, or a sandbox could mint a new series per request with made-up methods.
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

// Outcomes reached only once the target passed the grant's policy.
const UPSTREAM_OUTCOMES = new Set<string>([
  'ok',
  'upstream_unreachable',
  'upstream_timeout',
  'response_not_scrubbable',
])

/**
 * The request method as a bounded label: a known method, else `_OTHER`.
 *
 * @example
 * ```ts
 * methodLabel('PROPFIND') // '_OTHER'
 * ```
 */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER'
}

/**
 * Whether the event's target was authorized (the request went, or was going, upstream). Only
 * then is its host bounded by the grants; before that it is whatever the sandbox wrote.
 *
 * @example
 * ```ts
 * if (targetAuthorized(event)) upstreamSeconds.observe({ host: event.host }, event.timings.upstream / 1000)
 * ```
 */
export function targetAuthorized(event: ProxyEvent): boolean {
  return UPSTREAM_OUTCOMES.has(event.outcome) || event.timings.upstream > 0
}

/**
 * The target host as a label: the host of an authorized target, `other` for any other request.
 *
 * @example
 * ```ts
 * const host = targetHostLabel(event)
 * ```
 */
export function targetHostLabel(event: ProxyEvent): string {
  return targetAuthorized(event) && event.host !== undefined ? event.host : 'other'
}

/**
 * Whether the token was decrypted rather than found in the opener cache; a token that failed to
 * open has no `cacheHit` but its open time shows the decryption it cost.
 *
 * @example
 * ```ts
 * if (uncachedOpen(event)) opens.inc()
 * ```
 */
export function uncachedOpen(event: ProxyEvent): boolean {
  return event.cacheHit === false || (event.cacheHit === undefined && event.timings.open > 0)
}

/**
 * The number of secret values scrubbed from the response (`event.scrubbed`, once core reports
 * it); 0 when absent.
 *
 * @example
 * ```ts
 * scrubbed.inc(scrubbedCount(event))
 * ```
 */
export function scrubbedCount(event: ProxyEvent): number {
  const count = (event as ProxyEvent & { scrubbed?: unknown }).scrubbed
  return typeof count === 'number' && Number.isFinite(count) && count > 0 ? count : 0
}
