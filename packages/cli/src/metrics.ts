import {
  createAdminCheck,
  createFailureLimiter,
  type FailureLimiter,
  methodLabel,
  type ProxyEvent,
  refuseAdmin,
  scrubbedCount,
  targetAuthorized,
  targetHostLabel,
  uncachedOpen,
} from '@keyhole/core'
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

// The HTTP semantic conventions' buckets for request durations, in seconds (as @keyhole/otel).
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

/** Options of {@link createServeMetrics}. */
export interface ServeMetricsOptions {
  /** The admin token `GET /metrics` requires (`Authorization: Bearer <adminToken>`). */
  adminToken?: string
  /** Serve `GET /metrics` to anyone (`--metrics-public`). Default: false, which needs `adminToken`. */
  public?: boolean
  /**
   * Counts wrong admin tokens per client address, shared with the admin routes (core's
   * `createAdminHandlers({ limiter })`) so guesses at the one admin token are limited wherever
   * they are made. Default: a limiter of its own (10 failures a minute).
   */
  limiter?: FailureLimiter
}

/** The proxy's Prometheus metrics, from {@link createServeMetrics}. */
export interface ServeMetrics {
  /** A registry of its own (never prom-client's global one), with the process metrics on it. */
  readonly registry: Registry
  /** Counts one proxy event: chain it with the other `onEvent` listeners. */
  record(event: ProxyEvent): void
  /**
   * Answers `GET /metrics`: the Prometheus text, or 401 `unauthorized` without the admin token
   * (429 `rate_limited` with `Retry-After` after too many from `clientAddress`).
   */
  handle(request: Request, clientAddress?: string): Promise<Response>
}

/**
 * The metrics of `keyhole serve --metrics`, fed by proxy events: `keyhole_requests_total{outcome}`,
 * `keyhole_request_duration_seconds{method,status,scheme,outcome}`,
 * `keyhole_upstream_duration_seconds{host,status,outcome}`, `keyhole_opens_total`,
 * `keyhole_cache_hits_total`, `keyhole_revocation_errors_total`, `keyhole_scrubbed_total`, and
 * prom-client's default process metrics. Labels are bounded and never carry a token, jti, sub,
 * path or query; `host` is only an authorized target's. Throws unless `adminToken` (at least
 * 32 bytes) or `public` is given: metrics tell who uses which upstream how often.
 *
 * @example
 * ```ts
 * const metrics = createServeMetrics({ adminToken: process.env.KEYHOLE_ADMIN_TOKEN })
 * const onEvent = (event: ProxyEvent) => metrics.record(event)
 * app.get('/metrics', (c) => metrics.handle(c.req.raw))
 * ```
 */
export function createServeMetrics(options: ServeMetricsOptions): ServeMetrics {
  if (!options.public && options.adminToken === undefined)
    throw new Error('metrics need an admin token unless they are public')
  // Checked in constant time, exactly as the admin routes check it.
  const isAdmin = options.public ? undefined : createAdminCheck(options.adminToken as string)
  const limiter = options.limiter ?? createFailureLimiter()
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const requests = new Counter({
    name: 'keyhole_requests_total',
    help: 'Requests through the keyhole proxy, by outcome (ok or the keyhole error code).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'keyhole_request_duration_seconds',
    help: 'Time from a request entering the proxy until its response headers were handed back.',
    labelNames: ['method', 'status', 'scheme', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  })
  const upstream = new Histogram({
    name: 'keyhole_upstream_duration_seconds',
    help: 'Time from sending a request upstream until its response headers arrived (authorized targets only).',
    labelNames: ['host', 'status', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  })
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] })
  const opens = counter(
    'keyhole_opens_total',
    'Tokens decrypted and validated (not found in the opener cache).',
  )
  const cacheHits = counter('keyhole_cache_hits_total', 'Tokens found in the opener cache.')
  const revocationErrors = counter(
    'keyhole_revocation_errors_total',
    'Requests refused because the revocation store did not answer.',
  )
  const scrubbed = counter('keyhole_scrubbed_total', 'Secret values scrubbed from upstream responses.')

  return {
    registry,
    record(event) {
      const status = String(event.status)
      requests.inc({ outcome: event.outcome })
      duration.observe(
        { method: methodLabel(event.method), status, scheme: event.scheme ?? '', outcome: event.outcome },
        event.timings.total / 1000,
      )
      if (targetAuthorized(event))
        upstream.observe(
          { host: targetHostLabel(event), status, outcome: event.outcome },
          event.timings.upstream / 1000,
        )
      if (uncachedOpen(event)) opens.inc()
      if (event.cacheHit === true) cacheHits.inc()
      if (event.outcome === 'revocation_unavailable') revocationErrors.inc()
      const count = scrubbedCount(event)
      if (count > 0) scrubbed.inc(count)
    },
    async handle(request, clientAddress = 'unknown') {
      // The token is checked before the limiter, so the right token always gets through.
      const authorization = request.headers.get('authorization')
      if (isAdmin && !(await isAdmin(authorization)))
        return refuseAdmin(limiter, clientAddress, authorization)
      const text = await registry.metrics()
      return new Response(request.method === 'HEAD' ? null : text, {
        headers: { 'content-type': registry.contentType, 'cache-control': 'no-store' },
      })
    },
  }
}
