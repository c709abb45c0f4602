import type { ProxyEvent } from '@keyhole/core'
import {
  errorType,
  methodLabel,
  scrubbedCount,
  targetAuthorized,
  targetHostLabel,
  uncachedOpen,
} from '@keyhole/core'
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api'

// The HTTP semantic conventions' recommended buckets for request durations, in seconds.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

/** The instruments {@link recordMetrics} feeds, made once per listener. */
export interface KeyholeInstruments {
  serverDuration: Histogram
  clientDuration: Histogram
  requests: Counter
  opens: Counter
  cacheHits: Counter
  revocationErrors: Counter
  scrubbed: Counter
}

/**
 * Creates keyhole's instruments on `meter`: the semantic-convention histograms
 * `http.server.request.duration` and `http.client.request.duration` (seconds), and the counters
 * `keyhole.requests`, `keyhole.opens`, `keyhole.cache_hits`, `keyhole.revocation.errors` and
 * `keyhole.scrubbed`.
 *
 * @example
 * ```ts
 * const instruments = createInstruments(metrics.getMeter('@keyhole/otel'))
 * ```
 */
export function createInstruments(meter: Meter): KeyholeInstruments {
  const advice = { explicitBucketBoundaries: DURATION_BUCKETS }
  return {
    serverDuration: meter.createHistogram('http.server.request.duration', {
      unit: 's',
      description: 'Duration of requests through the keyhole proxy, until the response headers.',
      advice,
    }),
    clientDuration: meter.createHistogram('http.client.request.duration', {
      unit: 's',
      description: 'Time from sending a request upstream until its response headers arrived.',
      advice,
    }),
    requests: meter.createCounter('keyhole.requests', {
      unit: '{request}',
      description: 'Requests through the keyhole proxy, by outcome.',
    }),
    opens: meter.createCounter('keyhole.opens', {
      unit: '{open}',
      description: 'Tokens decrypted and validated (not found in the opener cache).',
    }),
    cacheHits: meter.createCounter('keyhole.cache_hits', {
      unit: '{hit}',
      description: 'Tokens found in the opener cache.',
    }),
    revocationErrors: meter.createCounter('keyhole.revocation.errors', {
      unit: '{error}',
      description: 'Requests refused because the revocation store did not answer.',
    }),
    scrubbed: meter.createCounter('keyhole.scrubbed', {
      unit: '{value}',
      description: 'Secret values scrubbed from upstream responses.',
    }),
  }
}

/**
 * Records one event on the instruments. Every attribute is bounded: outcome, method (known
 * methods or `_OTHER`), status, scheme, and on the upstream histogram the target host and port
 * of an authorized target only. No token, jti, sub, kid, path or query ever becomes a label.
 *
 * @example
 * ```ts
 * recordMetrics(instruments, event, { targetHost: true })
 * ```
 */
export function recordMetrics(
  instruments: KeyholeInstruments,
  event: ProxyEvent,
  options: { targetHost: boolean },
): void {
  const method = methodLabel(event.method)
  const error = errorType(event)
  const server: Attributes = { 'http.request.method': method, 'http.response.status_code': event.status }
  if (event.scheme) server['url.scheme'] = event.scheme
  if (error) server['error.type'] = error
  instruments.serverDuration.record(event.timings.total / 1000, server)

  if (targetAuthorized(event)) {
    const client: Attributes = { 'http.request.method': method }
    if (event.scheme) client['url.scheme'] = event.scheme
    if (options.targetHost) {
      client['server.address'] = targetHostLabel(event)
      if (event.port !== undefined) client['server.port'] = event.port
    }
    // The status is the upstream's only when the upstream answered.
    if (event.outcome === 'ok') client['http.response.status_code'] = event.status
    if (error) client['error.type'] = error
    instruments.clientDuration.record(event.timings.upstream / 1000, client)
  }

  instruments.requests.add(1, { 'keyhole.outcome': event.outcome })
  if (uncachedOpen(event)) instruments.opens.add(1)
  if (event.cacheHit === true) instruments.cacheHits.add(1)
  if (event.outcome === 'revocation_unavailable') instruments.revocationErrors.add(1)
  const scrubbed = scrubbedCount(event)
  if (scrubbed > 0) instruments.scrubbed.add(scrubbed)
}
