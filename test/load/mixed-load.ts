// The mixed load run shared by the CI load test (mixed.test.ts) and the soak (mixed.soak.test.ts):
// concurrent clients send valid, expired, revoked, foreign-host and garbage tokens through all
// three proxies (core on node:http, Hono, Express) for a bounded time, while a checking upstream
// verifies that every request it receives carries exactly its own token's credentials.
import {
  Agent,
  createServer,
  type IncomingMessage,
  request as requestFn,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  createMemoryStore,
  createOpener,
  type KeyholePrivateJwk,
  type Keyring,
  type RevocationStore,
} from '@keyhole/core'
import { createNodeForwarder } from '@keyhole/core/node'
import { testIssuers } from '../../packages/core/test/kit/issuer.js'
import { PROXY_KINDS, type RunningProxy, startProxy } from '../adversarial/harness/proxies.js'
import { makeKeys, mintFor } from '../adversarial/harness/tokens.js'

export type Kind = 'valid' | 'expired' | 'revoked' | 'foreign' | 'garbage' | 'missing'

export interface LoadReport {
  seconds: number
  concurrency: number
  requests: number
  /** Requests per kind of token. */
  byKind: Record<Kind, number>
  /** Responses per status code. */
  statuses: Record<string, number>
  /** Responses per proxy kind. */
  byProxy: Record<string, number>
  /** 5xx that keyhole produced (anything 5xx without the upstream's marker header). */
  keyhole5xx: number
  /** 5xx the upstream produced on purpose and keyhole passed through. */
  upstream5xx: number
  /** Responses whose status or error code is not what the token kind must get. */
  wrongOutcomes: number
  /** Client-side transport errors (reset, timeout). */
  transportErrors: number
  /** Requests the checking upstream received. */
  upstreamRequests: number
  /** Upstream requests whose credentials were not exactly their own token's. */
  mixups: number
  /** Upstream requests that arrived for a token kind that must never reach upstream. */
  unexpectedUpstream: number
  /** Requests the decoy (the host no valid token names) received. */
  decoyRequests: number
  /** Events that looked like they held a secret. */
  eventLeaks: number
  rss: { startMb: number; endMb: number; peakMb: number; samplesMb: number[] }
  heap: { startMb: number; endMb: number }
  /** 503 revocation_unavailable answered inside the store outage window (not counted in keyhole5xx). */
  storeOutage503: number
  /** The store outage, in seconds since the measured period began (absent without `outage`). */
  outage?: OutageReport
  /** Per `bucketSeconds` (default 60) of the measured period: requests, latency, RSS at its end. */
  buckets: Bucket[]
  /** The same per `fineBucketSeconds` (default 10), for charts. */
  fineBuckets: Bucket[]
  /** Least-squares slope of the RSS of the buckets in the last `slopeSeconds` (default 300), MB per minute. */
  rssSlopeMbPerMin: number
  /** When the measured period began (Date.now()). */
  beganAt: number
  examples: string[]
}

export interface Bucket {
  /** Start of the bucket, seconds since the measured period began. */
  startS: number
  requests: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** RSS when the bucket closed. */
  rssMb: number
  /** Longest event-loop delay seen in the bucket (a stalled or starved process delays everything). */
  loopMaxMs: number
}

export interface OutageReport {
  /** When the store was stopped. */
  downAtS: number
  /** When the store was started again. */
  restartedAtS: number
  /** When the proxies' store answered again (its client reconnected). */
  answeringAtS: number
  /** Answers after `answeringAtS` still counted as the outage's (reconnect/recovery grace). */
  graceS: number
}

/**
 * A revocation-store outage in the middle of the run: `stop()` at `atSeconds` into the measured
 * period, `start()` `downSeconds` later; the outage lasts until the store answers again, plus
 * `graceSeconds`. Within it, 503 revocation_unavailable is the expected fail-closed answer for the
 * tokens that need the store (valid, revoked, foreign) and is counted in `storeOutage503`.
 */
export interface Outage {
  atSeconds: number
  downSeconds: number
  graceSeconds?: number
  stop(): Promise<void>
  start(): Promise<void>
}

const MB = 1024 * 1024

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length
  if (n < 2) return 0
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my)
    den += (xs[i]! - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

/** Latencies per time bucket; a bucket is summarised (and its RSS taken) when it closes. */
class Series {
  readonly rows: Bucket[] = []
  private open = new Map<number, number[]>()
  private loop = monitorEventLoopDelay({ resolution: 10 })
  constructor(
    readonly seconds: number,
    private readonly last: number,
  ) {
    this.loop.enable()
  }
  add(atMs: number, latencyMs: number): void {
    const index = Math.min(Math.floor(atMs / (this.seconds * 1000)), this.last)
    const list = this.open.get(index)
    if (list) list.push(latencyMs)
    else this.open.set(index, [latencyMs])
  }
  /** Closes every bucket before the one `atMs` falls in (all of them with `Infinity`). */
  close(atMs: number): void {
    const current = Math.floor(atMs / (this.seconds * 1000))
    const rss = process.memoryUsage().rss / MB
    while (this.rows.length <= this.last && this.rows.length < current) {
      const index = this.rows.length
      const sorted = Float64Array.from(this.open.get(index) ?? []).sort()
      this.open.delete(index)
      this.rows.push({
        startS: index * this.seconds,
        requests: sorted.length,
        p50Ms: round2(percentile(sorted, 0.5)),
        p99Ms: round2(percentile(sorted, 0.99)),
        maxMs: round2(sorted[sorted.length - 1] ?? 0),
        rssMb: Math.round(rss * 10) / 10,
        loopMaxMs: Math.round(this.loop.max / 1e6),
      })
      this.loop.reset()
    }
    if (this.rows.length > this.last) this.loop.disable()
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100

/** Forces a full GC (without needing --expose-gc on the command line). */
export function collectGarbage(): void {
  setFlagsFromString('--expose_gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  gc()
}

const CREDENTIAL = /[a-z]+_SECRET_[0-9a-f]{24}/g
const TOKENISH = /eyJ[A-Za-z0-9_-]{20,}/

interface TokenEntry {
  token: string
  values: string[]
}

interface Upstream {
  port: number
  requests: number
  mixups: number
  unexpected: number
  examples: string[]
  close(): Promise<void>
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

function closer(server: Server): () => Promise<void> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  return () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    })
}

/**
 * The checking upstream. Each request carries `x-load-tag: <kind>:<index>:<seq>`; the credentials
 * found anywhere in the request (target, headers, body) must be exactly that token's, and only
 * valid tokens may arrive at all. Answers 200 mostly, sometimes a 500/503 of its own (marked with
 * `x-upstream: 1` so they are not counted against keyhole), sometimes a 256 KiB body.
 */
async function startCheckingUpstream(valid: TokenEntry[], port: number): Promise<Upstream> {
  const state = { requests: 0, mixups: 0, unexpected: 0, examples: [] as string[] }
  const note = (line: string) => {
    if (state.examples.length < 10) state.examples.push(line)
  }
  const big = Buffer.alloc(256 * 1024, 0x6b)
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      state.requests++
      const tag = String(req.headers['x-load-tag'] ?? '')
      const [kind, index] = tag.split(':')
      const body = Buffer.concat(chunks).toString('latin1')
      const text = `${req.url}\n${req.rawHeaders.join('\n')}\n${body}`
      if (kind !== 'valid') {
        state.unexpected++
        note(`unexpected upstream request for tag ${tag}`)
      } else {
        const own = valid[Number(index)]
        const found = [...new Set(text.match(CREDENTIAL) ?? [])].sort()
        const expected = [...(own?.values ?? [])].sort()
        if (found.join(',') !== expected.join(',')) {
          state.mixups++
          note(`tag ${tag}: expected ${expected.length} own credentials, found ${found.length}`)
        }
        if (body !== '' && body !== `body:${tag}`) {
          state.mixups++
          note(`tag ${tag}: body mixed up`)
        }
        if (TOKENISH.test(text)) {
          state.mixups++
          note(`tag ${tag}: a token reached the upstream`)
        }
      }
      // Spread over the request numbers of valid tokens only (kinds cycle every 10 requests).
      const roll = Math.floor(Number(tag.split(':')[2] ?? 0) / 10) % 50
      if (roll === 7) {
        res.writeHead(500, { 'x-upstream': '1', 'content-type': 'text/plain' }).end('upstream says no')
      } else if (roll === 8) {
        res.writeHead(503, { 'x-upstream': '1', 'retry-after': '1' }).end()
      } else if (roll === 9) {
        res.writeHead(200, { 'x-upstream': '1', 'content-length': big.length }).end(big)
      } else {
        res.writeHead(200, { 'x-upstream': '1', 'content-type': 'text/plain' }).end(`ok ${tag}`)
      }
    })
  })
  const close = closer(server)
  await listen(server, port)
  return {
    port,
    get requests() {
      return state.requests
    },
    get mixups() {
      return state.mixups
    },
    get unexpected() {
      return state.unexpected
    },
    get examples() {
      return state.examples
    },
    close,
  }
}

async function startDecoy(): Promise<{ port: number; count: () => number; close: () => Promise<void> }> {
  let count = 0
  const server = createServer((req, res) => {
    count++
    req.resume()
    res.writeHead(200, { 'x-upstream': 'decoy' }).end('decoy')
  })
  const port = await listen(server)
  return { port, count: () => count, close: closer(server) }
}

function flip(token: string, seed: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const at = seed % token.length
  if (token[at] === '.') return `${token}x`
  const next = alphabet[(alphabet.indexOf(token[at]!) + 1 + (seed % 60)) % 64]
  return token.slice(0, at) + next + token.slice(at + 1)
}

function garbageToken(valid: TokenEntry[], seq: number): string {
  const base = valid[seq % valid.length]!.token
  switch (seq % 5) {
    case 0:
      return flip(base, seq * 7919)
    case 1:
      return base.slice(0, base.length - 1 - (seq % 40))
    case 2:
      return Buffer.from(crypto.getRandomValues(new Uint8Array(48 + (seq % 200)))).toString('base64url')
    case 3:
      return base.split('.').reverse().join('.')
    default:
      return `${base.split('.')[0]}.${'A'.repeat(54)}.${'B'.repeat(16)}.${'C'.repeat(30 + (seq % 50))}.${'D'.repeat(22)}`
  }
}

interface Fixture {
  keyring: Keyring
  key: KeyholePrivateJwk
  valid: TokenEntry[]
  expired: string[]
  revoked: string[]
  foreign: string[]
}

const KINDS: readonly Kind[] = [
  'valid',
  'valid',
  'valid',
  'valid',
  'valid',
  'expired',
  'revoked',
  'foreign',
  'garbage',
  'missing',
]

/**
 * Runs the mixed load for `seconds` with `concurrency` clients and returns what it measured.
 * `onSample` receives the RSS every `sampleSeconds`.
 */
export async function runMixedLoad(options: {
  seconds: number
  concurrency: number
  tokens?: number
  sampleSeconds?: number
  onSample?: (line: string) => void
  /** The store every proxy's opener shares. Default: a fresh in-memory store. */
  revocations?: RevocationStore
  outage?: Outage
  bucketSeconds?: number
  fineBucketSeconds?: number
  slopeSeconds?: number
}): Promise<LoadReport> {
  const { seconds, concurrency } = options
  const tokenCount = options.tokens ?? 200
  const { key, keyring } = await makeKeys()
  const revocations = options.revocations ?? createMemoryStore()
  const decoy = await startDecoy()

  // Valid tokens first: the upstream needs them to check credentials. Their grant names the
  // upstream's address, which is only known once it listens, so reserve a port by listening.
  const placeholder = createServer()
  const upstreamPort = await listen(placeholder)
  await new Promise<void>((resolve) => placeholder.close(() => resolve()))
  const upstreamHost = `http://127.0.0.1:${upstreamPort}`

  const fixture: Fixture = { keyring, key, valid: [], expired: [], revoked: [], foreign: [] }
  const shapes: ('header' | 'query' | 'cookie' | 'apikey')[][] = [
    ['header'],
    ['query'],
    ['cookie', 'apikey'],
    ['header', 'query'],
  ]
  for (let i = 0; i < tokenCount; i++) {
    fixture.valid.push(
      await mintFor(key, { hosts: [upstreamHost], paths: ['/load/**'], inject: shapes[i % shapes.length]! }),
    )
  }
  const twoHoursAgo = () => Date.now() - 2 * 3600_000
  for (let i = 0; i < 20; i++) {
    fixture.expired.push(
      (await mintFor(key, { hosts: [upstreamHost], ttl: '1h' }, { now: twoHoursAgo })).token,
    )
    fixture.foreign.push((await mintFor(key, { hosts: [`http://127.0.0.1:${decoy.port}`] })).token)
  }
  const jtiReader = createOpener({ keyring, issuers: testIssuers, cacheSize: 0 })
  for (let i = 0; i < 20; i++) {
    const { token } = await mintFor(key, { hosts: [upstreamHost] })
    const grant = await jtiReader.open(token)
    await revocations.revoke(grant.jti, new Date(grant.exp * 1000))
    fixture.revoked.push(token)
  }

  // The upstream must come up on the port the grants name.
  let upstream: Upstream | undefined
  for (let attempt = 0; attempt < 5 && !upstream; attempt++) {
    try {
      upstream = await startCheckingUpstream(fixture.valid, upstreamPort)
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  if (!upstream) throw new Error(`could not bind the upstream to port ${upstreamPort}`)

  // The measured period's clock: set when it begins.
  let began = 0
  const forwarders = PROXY_KINDS.map(() => createNodeForwarder())
  // Why the upstream leg failed (the events carry only the code): each forwarder rejection, with
  // its time and request, is kept as a diagnostic (messages are checked for secrets first).
  const forwardFailures: string[] = []
  const watched = forwarders.map(
    (forward, i) =>
      new Proxy(forward, {
        apply(target, self, args: Parameters<typeof forward>) {
          const [, init] = args
          return (Reflect.apply(target, self, args) as ReturnType<typeof forward>).catch((error: unknown) => {
            const e = error as NodeJS.ErrnoException
            const line = `${PROXY_KINDS[i]} forward ${init?.method ?? 'GET'} (body: ${init?.body == null ? 'none' : 'yes'}) failed at t=${began ? ((Date.now() - began) / 1000).toFixed(1) : 'warm-up'}s: ${e?.code ?? ''} ${e?.message ?? String(error)}${e?.cause ? ` (cause: ${(e.cause as NodeJS.ErrnoException).code ?? ''} ${(e.cause as Error).message})` : ''}`
            const safe = !CREDENTIAL.test(line) && !TOKENISH.test(line)
            CREDENTIAL.lastIndex = 0
            if (forwardFailures.length < 20)
              forwardFailures.push(
                safe ? line : `${PROXY_KINDS[i]} forward failed (message withheld: it held a secret)`,
              )
            throw error
          })
        },
      }),
  )
  let eventLeaks = 0
  const onEvent = (event: unknown) => {
    const text = JSON.stringify(event)
    if (CREDENTIAL.test(text) || TOKENISH.test(text)) eventLeaks++
    CREDENTIAL.lastIndex = 0
  }
  const proxies: RunningProxy[] = []
  for (const [i, kind] of PROXY_KINDS.entries()) {
    // Each proxy is a replica with its own opener (and grant cache) over the shared store.
    const opener = createOpener({ keyring, issuers: testIssuers, revocations })
    // Every proxy through its own node forwarder (what startProxy would give core and Hono anyway,
    // and Express's default), watched for the reasons of upstream failures.
    proxies.push(await startProxy(kind, { opener, onEvent, forward: watched[i]! }, { record: false }))
  }
  const agents = proxies.map(() => new Agent({ keepAlive: true, maxSockets: concurrency }))

  const report: LoadReport = {
    seconds,
    concurrency,
    requests: 0,
    byKind: { valid: 0, expired: 0, revoked: 0, foreign: 0, garbage: 0, missing: 0 },
    statuses: {},
    byProxy: {},
    keyhole5xx: 0,
    upstream5xx: 0,
    wrongOutcomes: 0,
    transportErrors: 0,
    upstreamRequests: 0,
    mixups: 0,
    unexpectedUpstream: 0,
    decoyRequests: 0,
    eventLeaks: 0,
    rss: { startMb: 0, endMb: 0, peakMb: 0, samplesMb: [] },
    heap: { startMb: 0, endMb: 0 },
    storeOutage503: 0,
    buckets: [],
    fineBuckets: [],
    rssSlopeMbPerMin: 0,
    beganAt: 0,
    examples: [],
  }
  const example = (line: string) => {
    if (report.examples.length < 20) report.examples.push(line)
  }

  // The outage window, in Date.now() ms.
  let series: Series[] = []
  const outageWindow = { from: Number.POSITIVE_INFINITY, to: Number.POSITIVE_INFINITY }
  const graceMs = (options.outage?.graceSeconds ?? 2) * 1000
  const inOutage = (sentAt: number, doneAt: number) =>
    doneAt >= outageWindow.from && sentAt <= outageWindow.to + graceMs

  let seq = 0
  const oneRequest = async (): Promise<void> => {
    const n = seq++
    const kind = KINDS[n % KINDS.length]!
    const index = Math.floor(n / KINDS.length) % tokenCount
    const proxyIndex = n % proxies.length
    const proxy = proxies[proxyIndex]!
    let token: string | undefined
    let target = `/http/127.0.0.1:${upstreamPort}/load/item/${n}?q=${n}`
    let expected: { status?: number; code?: string }
    if (kind === 'valid') {
      token = fixture.valid[index]!.token
      expected = {}
    } else if (kind === 'expired') {
      token = fixture.expired[n % fixture.expired.length]
      expected = { status: 401, code: 'token_expired' }
    } else if (kind === 'revoked') {
      token = fixture.revoked[n % fixture.revoked.length]
      expected = { status: 403, code: 'token_revoked' }
    } else if (kind === 'foreign') {
      // Half: a token for the decoy sent towards the upstream; half: a valid token sent towards the decoy.
      if (n % 2 === 0) token = fixture.foreign[n % fixture.foreign.length]
      else {
        token = fixture.valid[index]!.token
        target = `/http/127.0.0.1:${decoy.port}/load/item/${n}`
      }
      expected = { status: 403, code: 'host_not_allowed' }
    } else if (kind === 'garbage') {
      token = garbageToken(fixture.valid, n)
      expected = { status: 401, code: 'invalid_token' }
    } else {
      expected = { status: 401, code: 'missing_token' }
    }
    report.byKind[kind]++
    const tag = `${kind}:${index}:${n}`
    const post = n % 3 === 0
    const headers: Record<string, string> = { 'x-load-tag': tag }
    if (token !== undefined) {
      if (n % 4 === 1) headers.authorization = `Bearer ${token}`
      else headers['x-keyhole-token'] = token
    }
    const body = post ? `body:${tag}` : undefined
    if (body) headers['content-type'] = 'text/plain'
    const sentAt = Date.now()
    const t0 = performance.now()
    try {
      const response = await request(
        proxy.port,
        `${proxy.prefix}${target}`,
        post ? 'POST' : 'GET',
        headers,
        body,
        agents[proxyIndex]!,
      )
      const doneAt = Date.now()
      if (began > 0) for (const s of series) s.add(doneAt - began, performance.now() - t0)
      report.requests++
      report.statuses[response.status] = (report.statuses[response.status] ?? 0) + 1
      report.byProxy[proxy.kind] = (report.byProxy[proxy.kind] ?? 0) + 1
      const fromUpstream = response.marker !== undefined
      // Fail closed while the store is down: only for the kinds whose answer needs the store
      // (expired, garbage and missing tokens are refused before any lookup).
      const outage503 =
        !fromUpstream &&
        response.status === 503 &&
        response.code === 'revocation_unavailable' &&
        (kind === 'valid' || kind === 'revoked' || kind === 'foreign') &&
        inOutage(sentAt, doneAt)
      if (outage503) report.storeOutage503++
      else if (response.status >= 500) {
        if (fromUpstream) report.upstream5xx++
        else {
          report.keyhole5xx++
          example(
            `${proxy.kind} ${tag}: keyhole ${response.status} ${response.code ?? ''} at t=${((doneAt - began) / 1000).toFixed(1)}s (sent at t=${((sentAt - began) / 1000).toFixed(1)}s)`,
          )
        }
      }
      const ok =
        outage503 ||
        (kind === 'valid'
          ? fromUpstream && response.marker === '1'
          : !fromUpstream && response.status === expected.status && response.code === expected.code)
      if (!ok) {
        report.wrongOutcomes++
        example(
          `${proxy.kind} ${tag}: got ${response.status} ${response.code ?? ''} marker=${response.marker ?? '-'}`,
        )
      }
    } catch (error) {
      report.transportErrors++
      example(`${proxy.kind} ${tag}: transport ${(error as Error).message}`)
    }
  }

  const worker = async (deadline: number) => {
    while (Date.now() < deadline) await oneRequest()
  }

  // Warm up (JIT, pools, grant caches) before the baseline is taken.
  await Promise.all(Array.from({ length: concurrency }, () => worker(Date.now() + 2000)))
  collectGarbage()
  const start = process.memoryUsage()
  report.rss.startMb = start.rss / MB
  report.heap.startMb = start.heapUsed / MB
  report.rss.peakMb = report.rss.startMb
  const sampleMs = (options.sampleSeconds ?? 5) * 1000
  began = Date.now()
  report.beganAt = began
  const bucketSeconds = options.bucketSeconds ?? 60
  const fineSeconds = options.fineBucketSeconds ?? 10
  const minutes = new Series(bucketSeconds, Math.max(0, Math.ceil(seconds / bucketSeconds) - 1))
  const fine = new Series(fineSeconds, Math.max(0, Math.ceil(seconds / fineSeconds) - 1))
  series = [minutes, fine]
  const closer = setInterval(() => {
    const before = minutes.rows.length
    for (const s of series) s.close(Date.now() - began)
    for (const row of minutes.rows.slice(before))
      options.onSample?.(
        `[load] bucket t=${row.startS}s: ${row.requests} requests, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, rss ${row.rssMb} MB`,
      )
  }, fineSeconds * 1000)
  const sampler = setInterval(() => {
    const rss = process.memoryUsage().rss / MB
    report.rss.samplesMb.push(Math.round(rss))
    report.rss.peakMb = Math.max(report.rss.peakMb, rss)
    options.onSample?.(
      `[load] t=${Math.round((Date.now() - began) / 1000)}s requests=${report.requests} rss=${rss.toFixed(1)}MB`,
    )
  }, sampleMs)
  // Only the measured period counts; the warm-up's requests are discarded.
  report.requests = 0
  for (const kind of Object.keys(report.byKind) as Kind[]) report.byKind[kind] = 0
  report.statuses = {}
  report.byProxy = {}
  report.keyhole5xx = 0
  report.upstream5xx = 0
  report.wrongOutcomes = 0
  report.transportErrors = 0
  report.storeOutage503 = 0
  const upstreamBefore = upstream.requests
  const outage = options.outage
  const drill = outage
    ? (async () => {
        await new Promise((r) => setTimeout(r, outage.atSeconds * 1000))
        outageWindow.from = Date.now()
        await outage.stop()
        await new Promise((r) => setTimeout(r, outage.downSeconds * 1000))
        await outage.start()
        const restarted = Date.now()
        // The outage ends when the store the proxies share answers again.
        for (;;) {
          try {
            await revocations.isRevoked('load-outage-probe')
            break
          } catch {
            await new Promise((r) => setTimeout(r, 20))
          }
        }
        outageWindow.to = Date.now()
        report.outage = {
          downAtS: (outageWindow.from - began) / 1000,
          restartedAtS: (restarted - began) / 1000,
          answeringAtS: (outageWindow.to - began) / 1000,
          graceS: graceMs / 1000,
        }
        options.onSample?.(
          `[load] store outage: down at ${report.outage.downAtS.toFixed(1)}s, restarted at ${report.outage.restartedAtS.toFixed(1)}s, answering at ${report.outage.answeringAtS.toFixed(1)}s`,
        )
      })()
    : undefined
  try {
    await Promise.all([
      ...Array.from({ length: concurrency }, () => worker(Date.now() + seconds * 1000)),
      ...(drill ? [drill] : []),
    ])
  } finally {
    clearInterval(sampler)
    clearInterval(closer)
  }
  for (const s of series) s.close(Number.POSITIVE_INFINITY)
  report.buckets = minutes.rows
  report.fineBuckets = fine.rows
  // RSS trend over the last slopeSeconds: the buckets that start inside it, x in minutes.
  const slopeFrom = seconds - (options.slopeSeconds ?? 300)
  const tail = minutes.rows.filter((b) => b.startS >= slopeFrom)
  report.rssSlopeMbPerMin = round2(
    slope(
      tail.map((b) => (b.startS + bucketSeconds) / 60),
      tail.map((b) => b.rssMb),
    ),
  )
  // Let sockets settle, then measure the end state the same way as the start.
  for (const agent of agents) agent.destroy()
  for (const forward of forwarders) forward.destroy()
  await new Promise((r) => setTimeout(r, 500))
  collectGarbage()
  const end = process.memoryUsage()
  report.rss.endMb = end.rss / MB
  report.heap.endMb = end.heapUsed / MB
  report.upstreamRequests = upstream.requests - upstreamBefore
  report.mixups = upstream.mixups
  report.unexpectedUpstream = upstream.unexpected
  report.decoyRequests = decoy.count()
  report.eventLeaks = eventLeaks
  report.examples.push(...upstream.examples, ...forwardFailures)

  for (const proxy of proxies) await proxy.close()
  await upstream.close()
  await decoy.close()
  return report
}

interface Answer {
  status: number
  code: string | undefined
  marker: string | undefined
}

function request(
  port: number,
  path: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  agent: Agent,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = requestFn({ host: '127.0.0.1', port, path, method, headers, agent }, (res) => {
      res.on('data', () => {})
      res.on('error', reject)
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          code: res.headers['x-keyhole-error'] as string | undefined,
          marker: res.headers['x-upstream'] as string | undefined,
        }),
      )
    })
    req.setTimeout(30_000, () => req.destroy(new Error('client timeout')))
    req.on('error', reject)
    req.end(body)
  })
}

/** One line per figure, for the test output and the report. */
export function describeReport(label: string, r: LoadReport): string {
  const statuses = Object.entries(r.statuses)
    .sort()
    .map(([s, n]) => `${s}:${n}`)
    .join(' ')
  return [
    `[${label}] ${r.seconds}s, ${r.concurrency} clients, ${r.requests} requests (${(r.requests / r.seconds).toFixed(0)}/s)`,
    `[${label}] by kind: ${JSON.stringify(r.byKind)}; by proxy: ${JSON.stringify(r.byProxy)}`,
    `[${label}] statuses: ${statuses}`,
    `[${label}] keyhole 5xx: ${r.keyhole5xx}; upstream 5xx passed through: ${r.upstream5xx}; wrong outcomes: ${r.wrongOutcomes}; transport errors: ${r.transportErrors}`,
    `[${label}] upstream requests: ${r.upstreamRequests}; credential mix-ups: ${r.mixups}; unexpected upstream requests: ${r.unexpectedUpstream}; decoy requests: ${r.decoyRequests}; event leaks: ${r.eventLeaks}`,
    `[${label}] RSS start ${r.rss.startMb.toFixed(1)} MB, end ${r.rss.endMb.toFixed(1)} MB, peak ${r.rss.peakMb.toFixed(1)} MB; heap after GC start ${r.heap.startMb.toFixed(1)} MB, end ${r.heap.endMb.toFixed(1)} MB`,
    `[${label}] RSS samples (MB): ${r.rss.samplesMb.join(' ')}`,
    ...(r.outage
      ? [
          `[${label}] store outage: down ${r.outage.downAtS.toFixed(1)}s–${r.outage.answeringAtS.toFixed(1)}s (restarted at ${r.outage.restartedAtS.toFixed(1)}s, grace ${r.outage.graceS}s); store-outage 503s: ${r.storeOutage503}`,
        ]
      : []),
    ...r.buckets.map(
      (b) =>
        `[${label}] t=${b.startS}s: ${b.requests} requests, p50 ${b.p50Ms} ms, p99 ${b.p99Ms} ms, max ${b.maxMs} ms, event-loop delay max ${b.loopMaxMs} ms, RSS ${b.rssMb} MB`,
    ),
    `[${label}] RSS slope over the last buckets: ${r.rssSlopeMbPerMin} MB/min`,
    ...r.examples.map((e) => `[${label}] example: ${e}`),
  ].join('\n')
}
