// bench/proxy.mjs — the keyhole proxy against its baselines (issues 6 and 18, rows 1–7), measured
// side by side in one run. The upstream, every server and the load generator (autocannon) run in
// processes of their own on 127.0.0.1; A/B runs alternate (A B A B A B) and every run is reported.
//
//   npm run bench -- proxy          (builds, then runs this with --expose-gc)
//   node --expose-gc bench/proxy.mjs   (after `npm run build -w @keyhole/core -w @keyhole/hono -w @keyhole/express -w @keyhole/cli`)
//
// Env: KEYHOLE_BENCH_QUICK=1 shortens every run (for trying the script, not for figures);
// KEYHOLE_BENCH_PAIRS (A/B pairs per row, default 3), KEYHOLE_BENCH_SECONDS (measured seconds
// per run, default 5), KEYHOLE_BENCH_LATENCY_SECONDS (measured seconds per run of rows 3c and 5,
// default 3), KEYHOLE_BENCH_MEMORY_TOKENS (row 6, default 100000), KEYHOLE_BENCH_ROWS (the rows
// to run, comma-separated, of 1,2,3,3b,3c,4,5,6,7; default all). A quick look at the fresh-token
// rows: KEYHOLE_BENCH_ROWS=3,3b,3c KEYHOLE_BENCH_PAIRS=2 KEYHOLE_BENCH_SECONDS=2 node --expose-gc bench/proxy.mjs
// Writes bench/results/proxy.md and bench/results/proxy.svg (KEYHOLE_BENCH_OUT: another folder;
// KEYHOLE_BENCH_KEEP=1 keeps the temporary folder with the profiled windows' .cpuprofile files)
// when every row ran; a run of some rows prints their verdicts and saves its figures as JSON only.
import { execFile, spawn } from 'node:child_process'
import crypto from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import { join } from 'node:path'
import { createKeyring, createOpener, generateKey, toPublicJwk } from '@keyhole/core'
import { load, startServer, startUpstream } from './proxy/harness.mjs'
import { measureOpenCost } from './proxy/open-cost.mjs'
import { summarize } from './proxy/profile.mjs'
import { writeReport } from './proxy/report.mjs'
import { summaryRows } from './proxy/rows.mjs'
import { makeTokens } from './proxy/tokens.mjs'

const root = new URL('..', import.meta.url).pathname
const QUICK = process.env.KEYHOLE_BENCH_QUICK === '1'
const PAIRS = Number(process.env.KEYHOLE_BENCH_PAIRS ?? (QUICK ? 2 : 3))
const SECONDS = Number(process.env.KEYHOLE_BENCH_SECONDS ?? (QUICK ? 2 : 5))
const WARM = QUICK ? 1 : 2
const ALL_ROWS = ['1', '2', '3', '3b', '3c', '4', '5', '6', '7']
const ROWS = process.env.KEYHOLE_BENCH_ROWS
  ? process.env.KEYHOLE_BENCH_ROWS.split(',').map((r) => r.trim())
  : ALL_ROWS
for (const r of ROWS)
  if (!ALL_ROWS.includes(r)) throw new Error(`KEYHOLE_BENCH_ROWS: no row ${r} (rows: ${ALL_ROWS})`)
const want = (row) => ROWS.includes(row)
const CONNECTIONS = 32
const MEMORY_TOKENS = Number(process.env.KEYHOLE_BENCH_MEMORY_TOKENS ?? (QUICK ? 5000 : 100_000))
const FRESH_TOKENS = 12_000 // more than the opener's default cache (10,000): cycling them always misses
const REVOCATIONS = QUICK ? 100_000 : 1_000_000
const TRANSFERS = QUICK ? 1 : 3 // 100 MB transfers per server and direction
// Rows 3c and 5 runs are shorter: latency percentiles settle in fewer requests than throughput does.
const LATENCY_RUN = { warm: 1, seconds: Number(process.env.KEYHOLE_BENCH_LATENCY_SECONDS ?? (QUICK ? 2 : 3)) }
const SETTLE_MS = QUICK ? 3000 : 15_000 // row 6: idle time before the settled reading
const BIG = 100 * 1024 * 1024
const MB = 1024 * 1024

const startedAt = Date.now()
const loadAtStart = os.loadavg()
const log = (...args) =>
  console.log(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s]`, ...args)
const int = (n) => Math.round(n).toLocaleString('en-US')
const ms = (n) => (n < 10 ? n.toFixed(3) : n.toFixed(1))

// ---------------------------------------------------------------------------------------------
// Setup: one P-256 key (the default curve), an ES256 issuer key that signs the tokens (the
// proxies trust its public half), the upstream, the tokens. Rows 3b and 3c also use an X25519 key
// and an EdDSA issuer; `keyhole serve` (rows 3 and 3c) reads all four from one key set, as
// written by `keyhole keygen`.

const dir = mkdtempSync(join(os.tmpdir(), 'keyhole-bench-proxy-'))
const key = await generateKey()
const keyFile = join(dir, 'key.json')
writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 })
const keyring = createKeyring([key])
const publicJwk = keyring.publicJwks().keys[0]
const issuer = await generateKey({ use: 'sig' })
const issuers = [toPublicJwk(issuer)]
const issuerFile = join(dir, 'issuer.json')
writeFileSync(issuerFile, JSON.stringify(issuers[0]))
const keyX = await generateKey({ curve: 'X25519' })
const issuerX = await generateKey({ use: 'sig', alg: 'EdDSA' })
const serveKeysFile = join(dir, 'serve-keys.json')
writeFileSync(serveKeysFile, JSON.stringify({ keys: [key, keyX, issuer, issuerX] }), { mode: 0o600 })
const bothKeys = createKeyring([key, keyX])
const bothIssuers = [{ keys: { keys: [toPublicJwk(issuer), toPublicJwk(issuerX)] } }]

const upstream = await startUpstream()
const host = `127.0.0.1:${upstream.port}`
const grant = {
  hosts: [`http://${host}`],
  inject: [
    {
      in: 'header',
      name: 'Authorization',
      value: `Bearer sk-bench-${crypto.randomBytes(12).toString('hex')}`,
    },
  ],
}
const [token] = makeTokens(publicJwk, grant, 1, { issuer })
const [tokenX] = makeTokens(bothKeys.publicJwks().keys[1], grant, 1, { issuer: issuerX })
const tail = `/http/${host}/v1/items?limit=10`
const path = `/proxy${tail}`
/** The request URL for a server: `keyhole serve` has open mode at `/`, the others under `/proxy`. */
const urlOf = (s) => s.origin + (s.prefix ?? '/proxy') + tail
// What an SDK sends besides the token.
const baseHeaders = {
  accept: 'application/json',
  'user-agent': 'bench-agent/1.0',
  'x-request-source': 'bench',
}
const withToken = { ...baseHeaders, 'x-keyhole-token': token }

log('minting tokens (bench/proxy/tokens.mjs)')
const tokenFile = (name, list) => {
  const file = join(dir, `${name}.json`)
  writeFileSync(file, JSON.stringify(list))
  return file
}
const needFresh = want('3') || want('3b') || want('3c')
const fresh = needFresh ? makeTokens(publicJwk, grant, FRESH_TOKENS, { issuer }) : []
const freshX =
  want('3b') || want('3c')
    ? makeTokens(bothKeys.publicJwks().keys[1], grant, FRESH_TOKENS, { issuer: issuerX })
    : []
const coldTokens = makeTokens(publicJwk, grant, 50, { issuer })
const many = want('6') ? makeTokens(publicJwk, grant, MEMORY_TOKENS, { issuer, ephemeralEvery: 50 }) : []
{
  // The bench tokens must be real keyhole tokens: core's default opener (jose) opens a sample.
  const check = createOpener({ keyring: bothKeys, issuers: bothIssuers })
  const sample = [
    token,
    tokenX,
    ...fresh.slice(0, 10),
    ...freshX.slice(0, 10),
    ...coldTokens.slice(0, 5),
    ...many.slice(0, 60),
  ]
  for (const t of sample) await check.open(t)
}
const freshFile = tokenFile('fresh', fresh)
const freshXFile = tokenFile('fresh-x25519', freshX)
const coldFile = tokenFile('cold', coldTokens)
const manyFile = tokenFile('many', many)

// ---------------------------------------------------------------------------------------------
// One measured run: warm-up first (its own load process), then the measured window, with the
// server's CPU time and opener counters read over IPC around it.

async function measure(side, offset = 0) {
  const common = {
    url: urlOf(side.server),
    connections: side.connections ?? CONNECTIONS,
    headers: side.headers,
  }
  if (side.tokensFile) Object.assign(common, { tokensFile: side.tokensFile, tokenMode: 'cycle' })
  let used = 0
  const warmSeconds = side.warm ?? WARM
  if (warmSeconds > 0) {
    const warm = await load({ ...common, warmup: 0, duration: warmSeconds, tokenOffset: offset })
    used += warm.tokensUsed ?? 0
  }
  const before = await side.server.ask('stats')
  const result = await load({
    ...common,
    warmup: 0,
    duration: side.seconds ?? SECONDS,
    tokenOffset: offset + used,
  })
  const after = await side.server.ask('stats')
  used += result.tokensUsed ?? 0
  const cpu = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system
  return {
    rps: result.rps,
    requests: result.requests,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors,
    cpuPerRequest: cpu / Math.max(1, result.requests),
    decryptions: after.stats && before.stats ? after.stats.decryptions - before.stats.decryptions : undefined,
    used,
  }
}

/** A B A B ...: `PAIRS` runs of every side, alternating; returns the runs per side. */
async function alternate(label, sides) {
  const runs = sides.map(() => [])
  const offsets = sides.map(() => 0)
  for (let pair = 0; pair < PAIRS; pair++) {
    for (let i = 0; i < sides.length; i++) {
      const run = await measure(sides[i], offsets[i])
      offsets[i] += run.used
      runs[i].push(run)
      log(
        `${label}: ${sides[i].label} run ${pair + 1}: ${int(run.rps)} req/s, p50 ${ms(run.p50)} ms, p99 ${ms(run.p99)} ms, ${int(run.cpuPerRequest)} µs CPU/req${run.failed ? `, ${run.failed} FAILED` : ''}`,
      )
    }
  }
  return runs
}

/** Profiles `side` for one window (V8 sampling profiler, 1 ms interval) and summarizes it. */
async function profileOf(side, offset = 0) {
  const file = join(dir, `${side.server.kind}-${Date.now()}.cpuprofile`)
  const common = {
    url: urlOf(side.server),
    connections: side.connections ?? CONNECTIONS,
    headers: side.headers,
    warmup: 0,
  }
  if (side.tokensFile) Object.assign(common, { tokensFile: side.tokensFile, tokenMode: 'cycle' })
  const warm = await load({ ...common, duration: 1, tokenOffset: offset })
  await side.server.ask('profile-start')
  const result = await load({ ...common, duration: SECONDS, tokenOffset: offset + (warm.tokensUsed ?? 0) })
  await side.server.ask('profile-stop', { file })
  const summary = summarize(JSON.parse(readFileSync(file, 'utf8')))
  return { ...summary, requests: result.requests, rps: result.rps }
}

/**
 * System calls per request of `side`'s server over 3000 requests (strace -c -f attached to it),
 * or undefined when strace is not installed.
 */
async function syscallsOf(side) {
  const requests = 3000
  const strace = spawn('strace', ['-c', '-f', '-p', String(side.server.proc.pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let output = ''
  strace.stderr.on('data', (d) => {
    output += d
  })
  const failed = await new Promise((resolve) => {
    strace.once('error', () => resolve(true))
    setTimeout(() => resolve(false), 1000)
  })
  if (failed || strace.exitCode !== null) return undefined
  const result = await load({
    url: urlOf(side.server),
    connections: CONNECTIONS,
    warmup: 0,
    amount: requests,
    headers: side.headers,
  })
  strace.kill('SIGINT')
  await new Promise((resolve) => strace.once('exit', resolve))
  const calls = {}
  for (const line of output.split('\n')) {
    const cols = line.trim().split(/\s+/)
    // % time, seconds, usecs/call, calls, [errors,] syscall
    if (cols.length >= 5 && /^\d+$/.test(cols[3]) && cols.at(-1) !== 'total')
      calls[cols.at(-1)] = Number(cols[3]) / requests
  }
  return { requests: result.requests, calls }
}

const results = {}
const profiles = []
const server = (config) => startServer({ upstream: upstream.origin, keyFile, issuerFile, ...config })

// ---------------------------------------------------------------------------------------------
// Rows 1 and 2: one reused token.

if (want('1')) {
  log('row 1: Hono adapter vs bare node:http pass-through')
  const hono = await server({ kind: 'keyhole-hono', decrypt: 'node' })
  const bare = await server({ kind: 'bare-node' })
  const floor = await server({ kind: 'hono-floor' })
  const sides = [
    { label: 'keyhole (Hono, node forwarder)', server: hono, headers: withToken },
    { label: 'bare node:http + keep-alive Agent', server: bare, headers: withToken },
    { label: 'Hono floor (route + bare pipe)', server: floor, headers: withToken },
  ]
  results.row1 = await alternate('row 1', sides)
  profiles.push({ title: 'Row 1: keyhole on Hono, one reused token', ...(await profileOf(sides[0])) })
  profiles.push({ title: 'Row 1 baseline: bare node:http pass-through', ...(await profileOf(sides[1])) })
  results.syscalls = []
  for (const side of sides.slice(0, 2)) {
    const counted = await syscallsOf(side)
    if (counted) results.syscalls.push({ label: side.label, ...counted })
  }
  await Promise.all([hono.stop(), bare.stop(), floor.stop()])
}
if (want('2')) {
  log('row 2: Express adapter vs bare Express 5 + fetch pass-through')
  const kh = await server({ kind: 'keyhole-express', decrypt: 'node' })
  const bare = await server({ kind: 'bare-express' })
  const sides = [
    { label: 'keyhole (Express adapter)', server: kh, headers: withToken },
    { label: 'bare Express 5 + fetch + pipeline', server: bare, headers: withToken },
  ]
  results.row2 = await alternate('row 2', sides)
  profiles.push({ title: 'Row 2: keyhole on Express, one reused token', ...(await profileOf(sides[0])) })
  await Promise.all([kh.stop(), bare.stop()])
}

// ---------------------------------------------------------------------------------------------
// Row 3: a fresh token on every request, `keyhole serve` against a Hono proxy that runs jose on
// every request; for reference, keyhole with the decryption on the event loop, and the previous
// baseline (node:http + jose).

if (want('3')) {
  log('row 3: fresh token per request')
  const serve = await server({ kind: 'keyhole-serve', serveKeysFile })
  const honoJose = await server({ kind: 'hono-jose' })
  const khNode = await server({ kind: 'keyhole-hono', decrypt: 'node' })
  const joseNode = await server({ kind: 'jose-node' })
  // The decrypt pool as keyhole serve sizes it, with and without running a lone job on the event
  // loop (its `inline` option): the check that inlining costs no throughput at 32 connections.
  const pool = { threads: os.availableParallelism(), idleTimeout: '30s', verify: true }
  const inlineOn = await server({ kind: 'keyhole-hono', decrypt: 'pool', pool: { ...pool, inline: true } })
  const inlineOff = await server({ kind: 'keyhole-hono', decrypt: 'pool', pool: { ...pool, inline: false } })
  const floor = await server({ kind: 'crypto-floor' })
  const fresh = { headers: baseHeaders, tokensFile: freshFile }
  const sides = [
    { label: `keyhole serve (decrypt pool, ${os.availableParallelism()} threads)`, server: serve, ...fresh },
    { label: 'Hono + jose decrypt and verify per request', server: honoJose, ...fresh },
    { label: 'keyhole (Hono, createNodeOpener on the event loop)', server: khNode, ...fresh },
    { label: 'node:http + jose decrypt and verify per request', server: joseNode, ...fresh },
    { label: 'keyhole (Hono, decrypt pool, inline on)', server: inlineOn, ...fresh },
    { label: 'keyhole (Hono, decrypt pool, inline off)', server: inlineOff, ...fresh },
    { label: 'crypto floor: node:http + the raw node:crypto open, no checks', server: floor, ...fresh },
  ]
  results.row3 = await alternate('row 3', sides)
  const used = results.row3[0].reduce((a, r) => a + r.used, 0)
  profiles.push({
    title: 'Row 3: keyhole serve (main thread), a fresh token per request',
    ...(await profileOf(sides[0], used)),
  })
  await Promise.all([serve, honoJose, khNode, joseNode, inlineOn, inlineOff, floor].map((s) => s.stop()))
}

// Row 3b: the per-open CPU cost against the raw primitives (bench/proxy/open-cost.mjs).
if (want('3b')) {
  log('row 3b: per-open CPU cost vs the raw primitives')
  results.row3b = await measureOpenCost({
    keyring: bothKeys,
    issuers: bothIssuers,
    quick: QUICK,
    curves: [
      { name: 'P-256/ES256', key, issuer, tokens: fresh },
      { name: 'X25519/EdDSA', key: keyX, issuer: issuerX, tokens: freshX },
    ],
  })
}

// Row 3c: at concurrency 1, what a fresh token costs a request over a reused one, through one
// `keyhole serve` that holds both keys and trusts both issuers; per curve, alternating.
if (want('3c')) {
  log('row 3c: fresh vs reused token at concurrency 1')
  const serve = await server({ kind: 'keyhole-serve', serveKeysFile })
  // What the crypto alone adds at concurrency 1: the crypto floor (bench/proxy/server.mjs) against
  // the bare node:http pass-through, both on P-256 fresh tokens.
  const floor = await server({ kind: 'crypto-floor' })
  const bare = await server({ kind: 'bare-node' })
  const run = { connections: 1, ...LATENCY_RUN }
  const sides = [
    {
      label: 'P-256/ES256, fresh token per request',
      server: serve,
      headers: baseHeaders,
      tokensFile: freshFile,
      ...run,
    },
    { label: 'P-256/ES256, one reused token', server: serve, headers: withToken, ...run },
    {
      label: 'X25519/EdDSA, fresh token per request',
      server: serve,
      headers: baseHeaders,
      tokensFile: freshXFile,
      ...run,
    },
    {
      label: 'X25519/EdDSA, one reused token',
      server: serve,
      headers: { ...baseHeaders, 'x-keyhole-token': tokenX },
      ...run,
    },
    {
      label: 'crypto floor, P-256/ES256, fresh token per request',
      server: floor,
      headers: baseHeaders,
      tokensFile: freshFile,
      ...run,
    },
    {
      label: 'bare node:http pass-through',
      server: bare,
      headers: baseHeaders,
      tokensFile: freshFile,
      ...run,
    },
  ]
  results.row3c = await alternate('row 3c', sides)
  const used = results.row3c[0].reduce((a, r) => a + r.used, 0)
  profiles.push({
    title: 'Row 3c: keyhole serve (main thread), a fresh P-256/ES256 token per request at concurrency 1',
    ...(await profileOf(sides[0], used)),
  })
  await Promise.all([serve, floor, bare].map((s) => s.stop()))
}

// ---------------------------------------------------------------------------------------------
// Row 4: cold cache, 50 distinct tokens, 32 connections.

if (want('4')) {
  log('row 4: cold cache')
  results.row4 = []
  for (const mode of ['burst', 'cycle']) {
    const s = await server({ kind: 'keyhole-hono', decrypt: 'node' })
    const amount = 50 * CONNECTIONS * 2
    const result = await load({
      url: s.origin + path,
      connections: CONNECTIONS,
      warmup: 0,
      amount,
      headers: baseHeaders,
      tokensFile: coldFile,
      tokenMode: mode,
    })
    const { stats } = await s.ask('stats')
    results.row4.push({ mode, requests: result.requests, failed: result.non2xx + result.errors, ...stats })
    log(
      `row 4 (${mode}): ${result.requests} requests, ${stats.decryptions} decryptions, ${stats.cacheHits} cache hits`,
    )
    await s.stop()
  }
}

// ---------------------------------------------------------------------------------------------
// Row 5: added latency over direct-to-upstream.

if (want('5')) {
  log('row 5: latency')
  const hono = await server({ kind: 'keyhole-hono', decrypt: 'node' })
  const bare = await server({ kind: 'bare-node' })
  results.row5 = {}
  for (const connections of [1, CONNECTIONS]) {
    const direct = {
      label: 'direct to upstream',
      server: { ...upstream, ask: async () => ({ cpu: { user: 0, system: 0 } }) },
      headers: withToken,
      connections,
    }
    const sides = [
      { label: 'through keyhole (Hono)', server: hono, headers: withToken, connections, ...LATENCY_RUN },
      { ...direct, ...LATENCY_RUN },
      { label: 'through bare node:http', server: bare, headers: withToken, connections, ...LATENCY_RUN },
    ]
    results.row5[connections] = await alternate(`row 5, c=${connections}`, sides)
  }
  await Promise.all([hono.stop(), bare.stop()])
}

// ---------------------------------------------------------------------------------------------
// Row 6: 100k distinct tokens through the proxy; 1M revocations in the memory store.

if (want('6')) {
  log(`row 6: ${int(MEMORY_TOKENS)} distinct tokens`)
  const s = await server({ kind: 'keyhole-hono', decrypt: 'node' })
  // Start: after a short warm-up with one token, so the figure is not the code being loaded.
  await load({ url: s.origin + path, connections: CONNECTIONS, warmup: 0, duration: 1, headers: withToken })
  const start = await s.ask('gc')
  const startRss = s.rss().rss
  s.resetPeak()
  const t0 = performance.now()
  const result = await load({
    url: s.origin + path,
    connections: CONNECTIONS,
    warmup: 0,
    amount: MEMORY_TOKENS,
    headers: baseHeaders,
    tokensFile: manyFile,
    tokenMode: 'cycle',
  })
  const seconds = (performance.now() - t0) / 1000
  const peak = s.rss().peak
  const end = await s.ask('gc')
  const endRss = s.rss().rss
  // V8 keeps the heap it grew during the burst until its memory reducer runs, a few seconds after
  // allocation stops; the settled figure is what an idle proxy holds after such a burst.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  const settled = await s.ask('gc')
  const settledRss = s.rss().rss
  results.row6 = {
    tokens: MEMORY_TOKENS,
    requests: result.requests,
    failed: result.non2xx + result.errors,
    seconds,
    decryptions: end.stats.decryptions,
    cacheSize: end.stats.cacheSize,
    cacheBound: 10_000,
    startRss,
    endRss,
    peakRss: peak,
    startHeap: start.memory.heapUsed,
    endHeap: end.memory.heapUsed,
    startHeapTotal: start.memory.heapTotal,
    endHeapTotal: end.memory.heapTotal,
    settledRss,
    settledHeapTotal: settled.memory.heapTotal,
    settledHeap: settled.memory.heapUsed,
  }
  log(
    `row 6: RSS ${int(startRss / MB)} MB -> ${int(endRss / MB)} MB after GC, ${int(settledRss / MB)} MB after ${SETTLE_MS / 1000} s idle + GC (peak ${int(peak / MB)} MB), cache ${end.stats.cacheSize}`,
  )
  await s.stop()

  log(`row 6b: ${int(REVOCATIONS)} revocations in the memory store`)
  results.row6b = await new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', join(root, 'bench/proxy/revocations.mjs'), String(REVOCATIONS)],
      { maxBuffer: 1 << 20 },
      (error, stdout, stderr) =>
        error ? reject(new Error(stderr || error.message)) : resolve(JSON.parse(stdout)),
    )
  })
  log(`row 6b: heap +${int(results.row6b.heapDelta / MB)} MB`)
}

// ---------------------------------------------------------------------------------------------
// Row 7: 100 MB each way.

function transfer(origin, direction, size = BIG) {
  return new Promise((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: false })
    const started = performance.now()
    const target =
      direction === 'upload'
        ? `${origin}/proxy/http/${host}/sink`
        : `${origin}/proxy/http/${host}/big?bytes=${size}`
    const request = http.request(
      target,
      {
        agent,
        method: direction === 'upload' ? 'POST' : 'GET',
        headers: {
          ...withToken,
          ...(direction === 'upload' && {
            'content-type': 'application/octet-stream',
            'content-length': size,
          }),
        },
      },
      (response) => {
        let bytes = 0
        const chunks = []
        response.on('data', (chunk) => {
          bytes += chunk.length
          if (direction === 'upload') chunks.push(chunk)
        })
        response.on('end', () => {
          const seconds = (performance.now() - started) / 1000
          const received = direction === 'upload' ? JSON.parse(Buffer.concat(chunks).toString()).bytes : bytes
          resolve({ status: response.statusCode, bytes: received, seconds })
        })
        response.on('error', reject)
      },
    )
    request.on('error', reject)
    if (direction === 'upload') {
      const chunk = Buffer.alloc(64 * 1024, 'u')
      let left = size
      const write = () => {
        while (left > 0) {
          const part = left >= chunk.length ? chunk : chunk.subarray(0, left)
          left -= part.length
          if (!request.write(part)) return request.once('drain', write)
        }
        request.end()
      }
      write()
    } else request.end()
  })
}

if (want('7')) {
  log('row 7: 100 MB each way')
  results.row7 = []
  // Each transfer in a fresh server process: RSS that a previous transfer grew (and the
  // allocator kept) would otherwise hide the next one's growth. A 1 MB transfer first loads the
  // code paths.
  for (const kind of ['keyhole-hono', 'keyhole-express', 'bare-node']) {
    for (const direction of ['upload', 'download']) {
      for (let trial = 1; trial <= TRANSFERS; trial++) {
        const s = await server({ kind, decrypt: 'node' })
        await transfer(s.origin, direction, MB)
        const { memory: heapBefore } = await s.ask('gc')
        const before = s.rss().rss
        s.resetPeak()
        const t = await transfer(s.origin, direction)
        const peak = s.rss().peak
        const { memory: heapAfter } = await s.ask('gc')
        const after = s.rss().rss
        await s.stop()
        results.row7.push({
          kind,
          direction,
          trial,
          ...t,
          growth: Math.max(0, peak - before),
          before,
          peak,
          after,
          heapDelta: heapAfter.heapUsed + heapAfter.external - heapBefore.heapUsed - heapBefore.external,
        })
        log(
          `row 7: ${kind} ${direction} ${trial}: ${t.status}, ${int(t.bytes / MB)} MB in ${t.seconds.toFixed(1)} s, peak RSS growth ${(Math.max(0, peak - before) / MB).toFixed(1)} MB`,
        )
      }
    }
  }
}

await upstream.stop()
// KEYHOLE_BENCH_KEEP=1 keeps the working folder: the tokens and the rows' .cpuprofile files.
if (process.env.KEYHOLE_BENCH_KEEP === '1') log(`kept ${dir}`)
else rmSync(dir, { recursive: true, force: true })

// ---------------------------------------------------------------------------------------------
// The report (bench/proxy/report.mjs), from the figures saved as JSON first.

const saved = join(os.tmpdir(), 'keyhole-bench-proxy-results.json')
const data = {
  results,
  profiles,
  path,
  host,
  startedAt,
  finishedAt: Date.now(),
  loadAtStart,
  loadAtEnd: os.loadavg(),
  outDir: process.env.KEYHOLE_BENCH_OUT,
  machine: `${os.cpus().length} CPUs (nproc ${os.availableParallelism?.() ?? os.cpus().length}), ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`,
  root,
  config: {
    QUICK,
    PAIRS,
    SECONDS,
    WARM,
    CONNECTIONS,
    FRESH_TOKENS,
    LATENCY_RUN,
    SETTLE_MS,
    TRANSFERS,
    ROWS,
    threads: os.availableParallelism(),
  },
}
writeFileSync(saved, JSON.stringify(data))
log(`figures saved to ${saved} (node bench/proxy/report.mjs ${saved} writes the report again)`)
// The report needs every row; a run of some rows only prints their verdicts.
const rows = ROWS.length === ALL_ROWS.length ? writeReport(data) : summaryRows(data)
for (const r of rows) log(`row ${r.n}: ${r.figure} | ${r.ratio} | ${r.met ? 'met' : 'not met'}${r.note}`)
