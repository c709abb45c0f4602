// @keyhole/otel against the real engine: createProxy with the node forwarder in front of a real
// upstream on 127.0.0.1, signed tokens, and the OpenTelemetry SDK's in-memory exporters.
import {
  createKeyring,
  createOpener,
  createProxy,
  generateKey,
  mint,
  type ProxyEvent,
  type ProxyEventListener,
  type ProxyHandler,
} from '@keyhole/core'
import { createNodeForwarder, type NodeForwarder } from '@keyhole/core/node'
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cannedRoutes, closedPort, startUpstream, type Upstream } from '../../core/test/kit/index.js'
import { testIssuer, testIssuers } from '../../core/test/kit/issuer.js'
import { createOtelListener } from '../src/index.js'

const CREDENTIAL = 'sk-live-otel-test-credential-7f3a'
const QUERY_SECRET = 'qs-otel-query-value-91c2'
const SECRET_PATH = '/echo/private-path-segment-4b1d'

let upstream: Upstream
let forward: NodeForwarder
let proxy: ProxyHandler
let brokenStoreProxy: ProxyHandler
let token: string
let unreachableToken: string
const events: ProxyEvent[] = []
const spanExporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] })
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
// Exports only when flushed: the test decides when metrics are read.
const reader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
})
const meterProvider = new MeterProvider({ readers: [reader] })

const recorded =
  (listener: ProxyEventListener): ProxyEventListener =>
  (event) => {
    events.push(event)
    return listener(event)
  }

beforeAll(async () => {
  upstream = await startUpstream({ routes: cannedRoutes })
  const keyring = createKeyring([await generateKey()])
  const to = keyring.publicJwks()
  const inject = [{ in: 'header' as const, name: 'Authorization', value: `Bearer ${CREDENTIAL}` }]
  token = await mint(
    { hosts: [upstream.origin], inject, ttl: '10m', sub: 'otel-agent' },
    { to, signWith: testIssuer },
  )
  const dead = await closedPort()
  unreachableToken = await mint(
    { hosts: [`http://127.0.0.1:${dead}`], inject, ttl: '10m' },
    { to, signWith: testIssuer },
  )
  forward = createNodeForwarder()
  const onEvent = recorded(
    createOtelListener({
      tracer: tracerProvider.getTracer('test'),
      meter: meterProvider.getMeter('test'),
    }),
  )
  proxy = createProxy({ opener: createOpener({ keyring, issuers: testIssuers }), forward, onEvent })
  const down = {
    isRevoked: () => Promise.reject(new Error('store down')),
    revoke: () => Promise.reject(new Error('store down')),
  }
  brokenStoreProxy = createProxy({
    opener: createOpener({ keyring, issuers: testIssuers, revocations: down }),
    forward,
    onEvent,
  })

  const send = (via: ProxyHandler, target: string, headers: Record<string, string>, method = 'GET') =>
    via(new Request(`http://proxy.test/${target}`, { method, headers })).then(async (response) => {
      await response.arrayBuffer()
      return response.status
    })
  const hostPort = `127.0.0.1:${upstream.port}`
  const withToken = { 'x-keyhole-token': token }
  // Two ok requests with the same token (the second a cache hit), an upstream 503, one refused
  // target, a missing and a garbage token, an unreachable upstream, an unknown method and a
  // revocation store that does not answer.
  expect(await send(proxy, `http/${hostPort}${SECRET_PATH}?q=${QUERY_SECRET}`, withToken)).toBe(200)
  expect(await send(proxy, `http/${hostPort}/echo/again`, withToken)).toBe(200)
  expect(await send(proxy, `http/${hostPort}/status/503`, withToken)).toBe(503)
  expect(await send(proxy, 'https/evil-target.example/collect', withToken)).toBe(403)
  expect(await send(proxy, `http/${hostPort}/echo`, {})).toBe(401)
  expect(await send(proxy, `http/${hostPort}/echo`, { 'x-keyhole-token': 'not-a-token' })).toBe(401)
  expect(await send(proxy, `http/127.0.0.1:${dead}/x`, { 'x-keyhole-token': unreachableToken })).toBe(502)
  expect(await send(proxy, `http/${hostPort}/echo/m`, withToken, 'PROPFIND')).toBe(200)
  expect(await send(brokenStoreProxy, `http/${hostPort}/echo`, withToken)).toBe(503)
  await reader.forceFlush()
}, 30_000)

afterAll(async () => {
  forward?.destroy()
  await upstream?.close()
  await meterProvider.shutdown()
  await tracerProvider.shutdown()
})

const spans = () => spanExporter.getFinishedSpans()
const spanFor = (event: ProxyEvent): ReadableSpan => {
  const index = events.indexOf(event)
  return spans()[index] as ReadableSpan
}
const metricsNamed = (name: string): MetricData => {
  const all =
    metricExporter
      .getMetrics()
      .at(-1)
      ?.scopeMetrics.flatMap((scope) => scope.metrics) ?? []
  const found = all.find((metric) => metric.descriptor.name === name)
  if (!found) throw new Error(`no metric ${name}`)
  return found
}
const sumBy = (name: string, attribute?: string): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const point of metricsNamed(name).dataPoints) {
    const key = attribute === undefined ? 'all' : String(point.attributes[attribute])
    out[key] = (out[key] ?? 0) + (point.value as number)
  }
  return out
}
const hrMs = ([seconds, nanos]: [number, number]) => seconds * 1000 + nanos / 1e6
const eventWith = (outcome: string, status?: number) =>
  events.find(
    (event) => event.outcome === outcome && (status === undefined || event.status === status),
  ) as ProxyEvent

describe('spans', () => {
  it('records one SERVER span per request, timed from the event', () => {
    expect(events).toHaveLength(9)
    expect(spans()).toHaveLength(9)
    const ok = events[0] as ProxyEvent
    const span = spanFor(ok)
    expect(span.name).toBe('keyhole.proxy')
    expect(span.kind).toBe(SpanKind.SERVER)
    expect(span.status.code).toBe(SpanStatusCode.UNSET)
    // The span ends when the event arrives and lasts as long as the request did.
    expect(hrMs(span.duration)).toBeCloseTo(ok.timings.total + ok.timings.body, 0)
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': upstream.port,
      'url.scheme': 'http',
      'url.path': SECRET_PATH,
      'keyhole.outcome': 'ok',
      'keyhole.cache_hit': false,
      'keyhole.jti': ok.jti,
      'keyhole.sub': 'otel-agent',
      'keyhole.kid': ok.kid,
      'keyhole.issuer_kid': ok.issuerKid,
    })
    expect(ok.jti).toMatch(/.+/)
    expect(spanFor(events[1] as ProxyEvent).attributes['keyhole.cache_hit']).toBe(true)
  })

  it('marks proxy errors and upstream 5xx as ERROR, with the reason', () => {
    const refused = spanFor(eventWith('host_not_allowed'))
    expect(refused.status).toEqual({ code: SpanStatusCode.ERROR, message: 'host_not_allowed' })
    expect(refused.attributes['http.response.status_code']).toBe(403)
    expect(refused.attributes['error.type']).toBe('host_not_allowed')
    const invalid = spanFor(eventWith('invalid_token'))
    expect(invalid.status.code).toBe(SpanStatusCode.ERROR)
    expect(invalid.attributes['keyhole.reason']).toBe(eventWith('invalid_token').reason)
    expect(spanFor(eventWith('ok', 503)).status).toEqual({ code: SpanStatusCode.ERROR, message: '503' })
    expect(spanFor(eventWith('upstream_unreachable')).status.code).toBe(SpanStatusCode.ERROR)
    expect(spanFor(eventWith('revocation_unavailable')).attributes['http.response.status_code']).toBe(503)
  })

  it('records an unknown method as _OTHER with the original beside it', () => {
    const span = spanFor(events.find((event) => event.method === 'PROPFIND') as ProxyEvent)
    expect(span.attributes['http.request.method']).toBe('_OTHER')
    expect(span.attributes['http.request.method_original']).toBe('PROPFIND')
  })

  it('never puts the token, the credential or the query on a span', () => {
    const text = JSON.stringify(spans().map((span) => ({ attributes: span.attributes, name: span.name })))
    for (const secret of [token, unreachableToken, CREDENTIAL, QUERY_SECRET])
      expect(text).not.toContain(secret)
  })
})

describe('metrics', () => {
  it('counts requests by outcome, opens, cache hits and revocation errors', () => {
    expect(sumBy('keyhole.requests', 'keyhole.outcome')).toEqual({
      ok: 4,
      host_not_allowed: 1,
      missing_token: 1,
      invalid_token: 1,
      upstream_unreachable: 1,
      revocation_unavailable: 1,
    })
    // Decryptions: the first use of each token on each opener, and the garbage token's failed
    // attempt; every later use of `token` on the first opener is a cache hit.
    const opens = events.filter(
      (e) => e.cacheHit === false || (e.cacheHit === undefined && e.timings.open > 0),
    )
    expect(sumBy('keyhole.opens').all).toBe(opens.length)
    expect(opens.length).toBeGreaterThanOrEqual(3)
    expect(sumBy('keyhole.cache_hits').all).toBe(events.filter((e) => e.cacheHit === true).length)
    expect(sumBy('keyhole.cache_hits').all).toBeGreaterThanOrEqual(4)
    expect(sumBy('keyhole.revocation.errors').all).toBe(1)
  })

  it('records http.server.request.duration in seconds with semantic-convention attributes', () => {
    const metric = metricsNamed('http.server.request.duration')
    expect(metric.descriptor.unit).toBe('s')
    expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM)
    const points = metric.dataPoints as {
      attributes: Record<string, unknown>
      value: { count: number; sum: number }
    }[]
    expect(points.reduce((n, point) => n + point.value.count, 0)).toBe(9)
    const ok200 = points.find(
      (point) =>
        point.attributes['http.response.status_code'] === 200 &&
        point.attributes['http.request.method'] === 'GET',
    )
    expect(ok200?.attributes).toEqual({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'url.scheme': 'http',
    })
    expect(ok200?.value.count).toBe(2)
    const totalSeconds = events
      .filter((e) => e.status === 200 && e.method === 'GET')
      .reduce((sum, e) => sum + e.timings.total / 1000, 0)
    expect(ok200?.value.sum).toBeCloseTo(totalSeconds, 6)
    const refused = points.find((point) => point.attributes['error.type'] === 'host_not_allowed')
    expect(refused?.attributes).toEqual({
      'http.request.method': 'GET',
      'http.response.status_code': 403,
      'url.scheme': 'https',
      'error.type': 'host_not_allowed',
    })
    expect(points.some((point) => point.attributes['http.request.method'] === '_OTHER')).toBe(true)
  })

  it('records http.client.request.duration for authorized targets only, with their host', () => {
    const metric = metricsNamed('http.client.request.duration')
    const points = metric.dataPoints as {
      attributes: Record<string, unknown>
      value: { count: number; sum: number }
    }[]
    // Four answered by the upstream, one unreachable.
    expect(points.reduce((n, point) => n + point.value.count, 0)).toBe(5)
    expect(new Set(points.map((point) => point.attributes['server.address']))).toEqual(new Set(['127.0.0.1']))
    const unreachable = points.find((point) => point.attributes['error.type'] === 'upstream_unreachable')
    expect(unreachable?.attributes).not.toHaveProperty('http.response.status_code')
    const upstreamSeconds = events
      .filter((e) => e.outcome === 'ok' && e.status === 200 && e.method === 'GET')
      .reduce((sum, e) => sum + e.timings.upstream / 1000, 0)
    const ok200 = points.find(
      (point) =>
        point.attributes['http.response.status_code'] === 200 &&
        point.attributes['http.request.method'] === 'GET',
    )
    expect(ok200?.value.sum).toBeCloseTo(upstreamSeconds, 6)
    expect(upstreamSeconds).toBeGreaterThan(0)
  })

  it('labels nothing with a token, credential, jti, sub, path, query or refused host', () => {
    const text = JSON.stringify(metricExporter.getMetrics())
    const ids = events.flatMap((e) => [e.jti, e.sub, e.kid, e.issuerKid]).filter((v): v is string => !!v)
    expect(ids.length).toBeGreaterThan(0)
    for (const secret of [token, unreachableToken, CREDENTIAL, QUERY_SECRET, 'not-a-token', ...ids])
      expect(text).not.toContain(secret)
    for (const path of [SECRET_PATH, 'private-path-segment', '/echo/again', '/status/503', '/collect'])
      expect(text).not.toContain(path)
    expect(text).not.toContain('evil-target.example')
    expect(text).not.toContain('PROPFIND')
  })
})

describe('options', () => {
  it('sums the scrubbed count, and leaves ids, path and host out when told to', async () => {
    const spanOut = new InMemorySpanExporter()
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanOut)] }).getTracer(
      't',
    )
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const flush = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
    const provider = new MeterProvider({ readers: [flush] })
    const listener = createOtelListener({
      tracer,
      meter: provider.getMeter('t'),
      spanIdentity: false,
      spanPath: false,
      targetHost: false,
      spanName: 'proxy',
    })
    const base = { ...(events[0] as ProxyEvent) }
    listener({ ...base, scrubbed: 2 } as ProxyEvent)
    listener({ ...base, scrubbed: 3 } as ProxyEvent)
    await flush.forceFlush()
    const metrics =
      exporter
        .getMetrics()
        .at(-1)
        ?.scopeMetrics.flatMap((scope) => scope.metrics) ?? []
    const scrubbed = metrics.find((metric) => metric.descriptor.name === 'keyhole.scrubbed')
    expect(scrubbed?.dataPoints[0]?.value).toBe(5)
    const client = metrics.find((metric) => metric.descriptor.name === 'http.client.request.duration')
    expect(client?.dataPoints[0]?.attributes).not.toHaveProperty('server.address')
    const [span] = spanOut.getFinishedSpans()
    expect(span?.name).toBe('proxy')
    expect(span?.attributes['keyhole.scrubbed']).toBe(2)
    for (const key of ['keyhole.jti', 'keyhole.sub', 'keyhole.kid', 'url.path'])
      expect(span?.attributes).not.toHaveProperty(key)
    await provider.shutdown()
  })

  it('records nothing with tracer and meter off', () => {
    expect(() => createOtelListener({ tracer: false, meter: false })(events[0] as ProxyEvent)).not.toThrow()
  })
})
