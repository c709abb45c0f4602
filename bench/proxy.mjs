// bench/proxy.mjs — the keyhole proxy against its baselines (issue 6, rows 1–7), measured side by
// side in one run. The upstream, every server and the load generator (autocannon) run in
// processes of their own on 127.0.0.1; A/B runs alternate (A B A B A B) and every run is reported.
//
//   npm run bench -- proxy          (builds, then runs this with --expose-gc)
//   node --expose-gc bench/proxy.mjs   (after `npm run build -w @keyhole/core -w @keyhole/hono -w @keyhole/express`)
//
// Env: KEYHOLE_BENCH_QUICK=1 shortens every run (for trying the script, not for figures);
// KEYHOLE_BENCH_PAIRS (A/B pairs per row, default 3), KEYHOLE_BENCH_SECONDS (measured seconds
// per run, default 5), KEYHOLE_BENCH_MEMORY_TOKENS (row 6, default 100000).
// Writes bench/results/proxy.md and bench/results/proxy.svg.
import { execFile } from 'node:child_process'
import crypto from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import { join } from 'node:path'
import { createKeyring, createOpener, generateKey, mint } from '@keyhole/core'
import { nodeDecrypt } from '@keyhole/core/node'
import { importJWK, jwtDecrypt } from 'jose'
import { renderChart } from './proxy/chart.mjs'
import { load, startServer, startUpstream } from './proxy/harness.mjs'
import { summarize } from './proxy/profile.mjs'
import { makeTokens } from './proxy/tokens.mjs'

const root = new URL('..', import.meta.url).pathname
const QUICK = process.env.KEYHOLE_BENCH_QUICK === '1'
const PAIRS = Number(process.env.KEYHOLE_BENCH_PAIRS ?? (QUICK ? 2 : 3))
const SECONDS = Number(process.env.KEYHOLE_BENCH_SECONDS ?? (QUICK ? 2 : 5))
const WARM = QUICK ? 1 : 2
const CONNECTIONS = 32
const MEMORY_TOKENS = Number(process.env.KEYHOLE_BENCH_MEMORY_TOKENS ?? (QUICK ? 5000 : 100_000))
const FRESH_TOKENS = 12_000 // more than the opener's default cache (10,000): cycling them always misses
const REVOCATIONS = QUICK ? 100_000 : 1_000_000
const TRANSFERS = QUICK ? 1 : 3 // 100 MB transfers per server and direction
const BIG = 100 * 1024 * 1024
const MB = 1024 * 1024

const startedAt = Date.now()
const loadAtStart = os.loadavg()
const log = (...args) =>
  console.log(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s]`, ...args)
const median = (list) => {
  const s = [...list].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const int = (n) => Math.round(n).toLocaleString('en-US')
const ms = (n) => (n < 10 ? n.toFixed(3) : n.toFixed(1))
const x = (n) => `${n.toFixed(2)}×`
const pct = (n) => `${(n * 100).toFixed(0)}%`

// ---------------------------------------------------------------------------------------------
// Setup: one P-256 key (the default curve), the upstream, the tokens.

const dir = mkdtempSync(join(os.tmpdir(), 'keyhole-bench-proxy-'))
const key = await generateKey()
const keyFile = join(dir, 'key.json')
writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 })
const keyring = createKeyring([key])
const publicJwk = keyring.publicJwks().keys[0]

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
const token = await mint({ ...grant, ttl: '1h' }, { to: keyring.publicJwks() })
const path = `/proxy/http/${host}/v1/items?limit=10`
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
const fresh = makeTokens(publicJwk, grant, FRESH_TOKENS)
const coldTokens = makeTokens(publicJwk, grant, 50)
const many = makeTokens(publicJwk, grant, MEMORY_TOKENS, { ephemeralEvery: 50 })
{
  // The bench tokens must be real keyhole tokens: core's default opener (jose) opens a sample.
  const check = createOpener({ keyring })
  for (const t of [...fresh.slice(0, 10), ...coldTokens.slice(0, 5), ...many.slice(0, 60)])
    await check.open(t)
}
const freshFile = tokenFile('fresh', fresh)
const coldFile = tokenFile('cold', coldTokens)
const manyFile = tokenFile('many', many)

// ---------------------------------------------------------------------------------------------
// One measured run: warm-up first (its own load process), then the measured window, with the
// server's CPU time and opener counters read over IPC around it.

async function measure(side, offset = 0) {
  const common = {
    url: side.server.origin + path,
    connections: side.connections ?? CONNECTIONS,
    headers: side.headers,
  }
  if (side.tokensFile) Object.assign(common, { tokensFile: side.tokensFile, tokenMode: 'cycle' })
  let used = 0
  if (WARM > 0) {
    const warm = await load({ ...common, warmup: 0, duration: WARM, tokenOffset: offset })
    used += warm.tokensUsed ?? 0
  }
  const before = await side.server.ask('stats')
  const result = await load({ ...common, warmup: 0, duration: SECONDS, tokenOffset: offset + used })
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
    url: side.server.origin + path,
    connections: CONNECTIONS,
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

const results = {}
const profiles = []
const server = (config) => startServer({ upstream: upstream.origin, keyFile, ...config })

// ---------------------------------------------------------------------------------------------
// Rows 1 and 2: one reused token.

{
  log('row 1: Hono adapter vs bare node:http pass-through')
  const hono = await server({ kind: 'keyhole-hono', decrypt: 'node' })
  const bare = await server({ kind: 'bare-node' })
  const sides = [
    { label: 'keyhole (Hono, node forwarder)', server: hono, headers: withToken },
    { label: 'bare node:http + keep-alive Agent', server: bare, headers: withToken },
  ]
  results.row1 = await alternate('row 1', sides)
  profiles.push({ title: 'Row 1: keyhole on Hono, one reused token', ...(await profileOf(sides[0])) })
  profiles.push({ title: 'Row 1 baseline: bare node:http pass-through', ...(await profileOf(sides[1])) })
  await Promise.all([hono.stop(), bare.stop()])
}
{
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
// Row 3: a fresh token on every request.

{
  log('row 3: fresh token per request')
  const khNode = await server({ kind: 'keyhole-hono', decrypt: 'node' })
  const jose = await server({ kind: 'jose-node' })
  const khJose = await server({ kind: 'keyhole-hono', decrypt: 'jose' })
  const sides = [
    { label: 'keyhole (Hono, nodeDecrypt)', server: khNode, headers: baseHeaders, tokensFile: freshFile },
    {
      label: 'node:http + jose jwtDecrypt per request',
      server: jose,
      headers: baseHeaders,
      tokensFile: freshFile,
    },
    {
      label: 'keyhole (Hono, default jose decrypt)',
      server: khJose,
      headers: baseHeaders,
      tokensFile: freshFile,
    },
  ]
  results.row3 = await alternate('row 3', sides)
  const used = results.row3[0].reduce((a, r) => a + r.used, 0)
  profiles.push({
    title: 'Row 3: keyhole on Hono with nodeDecrypt, a fresh token per request',
    ...(await profileOf(sides[0], used)),
  })
  await Promise.all([khNode.stop(), jose.stop(), khJose.stop()])
}

// Row 3b: the per-open cost against the raw primitives, in this process, alternating batches and
// timing CPU (process.cpuUsage counts every thread, so work on the libuv pool is included).
{
  log('row 3b: per-open CPU cost vs the raw primitives')
  const opener = createOpener({ keyring, decrypt: nodeDecrypt, cacheSize: 0 })
  const joseKey = await importJWK(key, 'ECDH-ES+A256KW')
  const joseOptions = {
    keyManagementAlgorithms: ['ECDH-ES+A256KW'],
    contentEncryptionAlgorithms: ['A256GCM'],
  }
  // The primitives a decryption cannot avoid, on inputs prepared outside the timed loop.
  const recipientPrivate = crypto.createPrivateKey({ key, format: 'jwk' })
  const eph = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const z = crypto.diffieHellman({
    privateKey: eph.privateKey,
    publicKey: crypto.createPublicKey(recipientPrivate),
  })
  // Concat KDF as keyhole uses it: SHA-256(counter ‖ Z ‖ OtherInfo) with empty apu/apv.
  const u32 = (n) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])
  const alg = Buffer.from('ECDH-ES+A256KW')
  const otherInfo = Buffer.concat([u32(alg.length), alg, u32(0), u32(0), u32(256)])
  const kdf = (secret) => crypto.createHash('sha256').update(u32(1)).update(secret).update(otherInfo).digest()
  const cek = crypto.randomBytes(32)
  const wrap = crypto.createCipheriv('id-aes256-wrap', kdf(z), Buffer.from('a6a6a6a6a6a6a6a6', 'hex'))
  const wrapped = Buffer.concat([wrap.update(cek), wrap.final()])
  const iv = crypto.randomBytes(12)
  const aad = Buffer.from(fresh[0].split('.')[0])
  const gcm = crypto.createCipheriv('aes-256-gcm', cek, iv).setAAD(aad)
  const plaintext = Buffer.alloc(Buffer.from(fresh[0].split('.')[3], 'base64url').length, 'p')
  const ciphertext = Buffer.concat([gcm.update(plaintext), gcm.final()])
  const tag = gcm.getAuthTag()
  const raw = () => {
    const secret = crypto.diffieHellman({ privateKey: recipientPrivate, publicKey: eph.publicKey })
    const unwrap = crypto.createDecipheriv(
      'id-aes256-wrap',
      kdf(secret),
      Buffer.from('a6a6a6a6a6a6a6a6', 'hex'),
    )
    const key = Buffer.concat([unwrap.update(wrapped), unwrap.final()])
    const d = crypto.createDecipheriv('aes-256-gcm', key, iv).setAAD(aad).setAuthTag(tag)
    return Buffer.concat([d.update(ciphertext), d.final()])
  }
  let i = 0
  const cases = {
    raw: async () => raw(),
    open: async () => opener.open(fresh[i++ % fresh.length]),
    jose: async () => jwtDecrypt(fresh[i++ % fresh.length], joseKey, joseOptions),
  }
  const BATCH = QUICK ? 50 : 200
  const ROUNDS = QUICK ? 3 : 9
  const cpuOf = async (fn) => {
    const before = process.cpuUsage()
    for (let n = 0; n < BATCH; n++) await fn()
    const used = process.cpuUsage(before)
    return (used.user + used.system) / BATCH
  }
  const samples = { raw: [], open: [], jose: [] }
  for (const fn of Object.values(cases)) await cpuOf(fn)
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? ['jose', 'open', 'raw'] : ['raw', 'open', 'jose']
    for (const name of order) samples[name].push(await cpuOf(cases[name]))
  }
  results.row3b = samples
}

// ---------------------------------------------------------------------------------------------
// Row 4: cold cache, 50 distinct tokens, 32 connections.

{
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

{
  log('row 5: latency')
  const hono = await server({ kind: 'keyhole-hono', decrypt: 'node' })
  results.row5 = {}
  for (const connections of [1, CONNECTIONS]) {
    const direct = {
      label: 'direct to upstream',
      server: { ...upstream, ask: async () => ({ cpu: { user: 0, system: 0 } }) },
      headers: withToken,
      connections,
    }
    const sides = [{ label: 'through keyhole (Hono)', server: hono, headers: withToken, connections }, direct]
    results.row5[connections] = await alternate(`row 5, c=${connections}`, sides)
  }
  await hono.stop()
}

// ---------------------------------------------------------------------------------------------
// Row 6: 100k distinct tokens through the proxy; 1M revocations in the memory store.

{
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
  }
  log(
    `row 6: RSS ${int(startRss / MB)} MB -> ${int(endRss / MB)} MB after GC (peak ${int(peak / MB)} MB), cache ${end.stats.cacheSize}`,
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

function transfer(origin, direction) {
  return new Promise((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: false })
    const started = performance.now()
    const target =
      direction === 'upload'
        ? `${origin}/proxy/http/${host}/sink`
        : `${origin}/proxy/http/${host}/big?bytes=${BIG}`
    const request = http.request(
      target,
      {
        agent,
        method: direction === 'upload' ? 'POST' : 'GET',
        headers: {
          ...withToken,
          ...(direction === 'upload' && {
            'content-type': 'application/octet-stream',
            'content-length': BIG,
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
      let left = BIG
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

{
  log('row 7: 100 MB each way')
  results.row7 = []
  for (const kind of ['keyhole-hono', 'keyhole-express', 'bare-node']) {
    const s = await server({ kind, decrypt: 'node' })
    await transfer(s.origin, 'download').catch(() => {}) // load the code paths once
    for (let trial = 1; trial <= TRANSFERS; trial++) {
      for (const direction of ['upload', 'download']) {
        await s.ask('gc')
        const before = s.rss().rss
        s.resetPeak()
        const t = await transfer(s.origin, direction)
        const peak = s.rss().peak
        results.row7.push({ kind, direction, trial, ...t, growth: Math.max(0, peak - before), before, peak })
        log(
          `row 7: ${kind} ${direction} ${trial}: ${t.status}, ${int(t.bytes / MB)} MB in ${t.seconds.toFixed(1)} s, peak RSS growth ${(Math.max(0, peak - before) / MB).toFixed(1)} MB`,
        )
      }
    }
    await s.stop()
  }
}

await upstream.stop()
rmSync(dir, { recursive: true, force: true })

// ---------------------------------------------------------------------------------------------
// The report.

const rps = (runs) => median(runs.map((r) => r.rps))
const r1 = { kh: rps(results.row1[0]), base: rps(results.row1[1]) }
const r2 = { kh: rps(results.row2[0]), base: rps(results.row2[1]) }
const r3 = { kh: rps(results.row3[0]), base: rps(results.row3[1]), khJose: rps(results.row3[2]) }
const r3b = {
  raw: median(results.row3b.raw),
  open: median(results.row3b.open),
  jose: median(results.row3b.jose),
}
const lat = (c, side, key) => median(results.row5[c][side].map((r) => r[key]))
const added = (c, key) => lat(c, 0, key) - lat(c, 1, key)
const row4 = results.row4
const row6 = results.row6
const row6b = results.row6b
// Row 7 per server and direction: the median of its transfers (peak RSS depends on when the
// garbage collector happens to run, so one transfer is one draw); the row takes the worst median.
const row7groups = []
for (const r of results.row7) {
  let g = row7groups.find((x) => x.kind === r.kind && x.direction === r.direction)
  if (!g) {
    g = { kind: r.kind, direction: r.direction, growths: [] }
    row7groups.push(g)
  }
  g.growths.push(r.growth)
}
for (const g of row7groups) g.median = median(g.growths)
const row7keyhole = row7groups.filter((g) => g.kind !== 'bare-node')
const row7worst = Math.max(...row7keyhole.map((g) => g.median))
const row7max = Math.max(...row7keyhole.flatMap((g) => g.growths))
const freshDecryptions = results.row3[0].reduce((a, r) => a + (r.decryptions ?? 0), 0)
const freshRequests = results.row3[0].reduce((a, r) => a + r.requests, 0)
const failures =
  [...results.row1, ...results.row2, ...results.row3, ...results.row5[1], ...results.row5[CONNECTIONS]]
    .flat()
    .reduce((a, r) => a + r.failed, 0) +
  row4.reduce((a, r) => a + r.failed, 0) +
  row6.failed

const verdict = (ok) => (ok ? 'met' : 'not met')
const short = (ratio, target) => (ratio >= target ? '' : ` (${pct(1 - ratio / target)} short)`)
const rows = [
  {
    n: 1,
    measure: 'req/s, Hono adapter on @hono/node-server, one reused token, 32 connections',
    figure: `${int(r1.kh)} req/s`,
    baseline: `${int(r1.base)} req/s (bare node:http + keep-alive Agent)`,
    ratio: x(r1.kh / r1.base),
    target: '≥ 0.85×',
    met: r1.kh / r1.base >= 0.85,
    note: short(r1.kh / r1.base, 0.85),
  },
  {
    n: 2,
    measure: 'req/s, Express adapter, one reused token, 32 connections',
    figure: `${int(r2.kh)} req/s`,
    baseline: `${int(r2.base)} req/s (Express 5 + fetch + pipeline(Readable.fromWeb))`,
    ratio: x(r2.kh / r2.base),
    target: '≥ 1.0×',
    met: r2.kh / r2.base >= 1,
    note: short(r2.kh / r2.base, 1),
  },
  {
    n: 3,
    measure: 'req/s, a fresh token on every request (Hono, nodeDecrypt), 32 connections',
    figure: `${int(r3.kh)} req/s; open ${int(r3b.open)} µs CPU`,
    baseline: `${int(r3.base)} req/s (node:http + jose jwtDecrypt per request); raw primitives ${int(r3b.raw)} µs CPU`,
    ratio: `${x(r3.kh / r3.base)}; open ${x(r3b.open / r3b.raw)} raw`,
    target: '≥ 2×; open ≤ 1.5× raw',
    met: r3.kh / r3.base >= 2 && r3b.open / r3b.raw <= 1.5,
    note:
      (r3.kh / r3.base >= 2 ? '' : ` (req/s ${pct(1 - r3.kh / r3.base / 2)} short)`) +
      (r3b.open / r3b.raw <= 1.5 ? '' : ` (open ${pct(r3b.open / r3b.raw / 1.5 - 1)} over)`),
  },
  {
    n: 4,
    measure:
      'cold cache: 50 distinct tokens, 32 connections (bursts of 32 concurrent requests per token; and cycled)',
    figure: row4.map((r) => `${r.decryptions} decryptions (${r.mode})`).join('; '),
    baseline: `${row4.map((r) => `${int(r.requests)}`).join(' / ')} requests`,
    ratio: row4.map((r) => `${r.decryptions}/50`).join('; '),
    target: 'exactly 50',
    met: row4.every((r) => r.decryptions === 50),
    note: '',
  },
  {
    n: 5,
    measure: 'added latency over direct-to-upstream (Hono, one token), p50 / p99',
    figure: `c=1: +${ms(added(1, 'p50'))} / +${ms(added(1, 'p99'))} ms; c=32: +${ms(added(CONNECTIONS, 'p50'))} / +${ms(added(CONNECTIONS, 'p99'))} ms`,
    baseline: `direct c=1: ${ms(lat(1, 1, 'p50'))} / ${ms(lat(1, 1, 'p99'))} ms; c=32: ${ms(lat(CONNECTIONS, 1, 'p50'))} / ${ms(lat(CONNECTIONS, 1, 'p99'))} ms`,
    ratio: `p50 at c=1: +${ms(added(1, 'p50'))} ms`,
    target: 'reported; p50 at c=1 ≤ +0.5 ms',
    met: added(1, 'p50') <= 0.5,
    note: added(1, 'p50') <= 0.5 ? '' : ` (${ms(added(1, 'p50') - 0.5)} ms over)`,
  },
  {
    n: 6,
    measure: `memory: ${int(row6.tokens)} distinct tokens through the proxy; ${int(row6b.count)} revoked jtis in the memory store`,
    figure: `RSS after GC ${row6.endRss >= row6.startRss ? '+' : ''}${((row6.endRss - row6.startRss) / MB).toFixed(1)} MB, cache ${int(row6.cacheSize)}; revocations heap +${(row6b.heapDelta / MB).toFixed(0)} MB`,
    baseline: `RSS at start ${(row6.startRss / MB).toFixed(0)} MB; heap before the revocations`,
    ratio: `cache ${int(row6.cacheSize)}/${int(row6.cacheBound)}`,
    target: 'cache ≤ bound, RSS within 50 MB; revocations ≤ 150 MB',
    met:
      row6.cacheSize <= row6.cacheBound &&
      row6.endRss - row6.startRss <= 50 * MB &&
      row6b.heapDelta <= 150 * MB,
    note: '',
  },
  {
    n: 7,
    measure: '100 MB body through the proxy each way (Hono and Express adapters)',
    figure: `peak RSS growth ${(row7worst / MB).toFixed(1)} MB (worst of the 4 medians; largest single transfer ${(row7max / MB).toFixed(1)} MB)`,
    baseline: `RSS after GC before each transfer; bare node:http pass-through ${row7groups
      .filter((g) => g.kind === 'bare-node')
      .map((g) => `${g.direction} ${(g.median / MB).toFixed(1)} MB`)
      .join(', ')}`,
    ratio: `${(row7worst / MB).toFixed(1)} / 30 MB`,
    target: '< 30 MB',
    met: row7worst < 30 * MB,
    note: row7worst < 30 * MB ? '' : ` (${((row7worst - 30 * MB) / MB).toFixed(1)} MB over)`,
  },
]

const machine = `${os.cpus().length} CPUs (nproc ${os.availableParallelism?.() ?? os.cpus().length}), ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`
const loadAtEnd = os.loadavg()
const fmtLoad = (l) => l.map((v) => v.toFixed(1)).join(', ')
const runTable = (label, sides, runs) => {
  const head = `| ${label} | run | req/s | p50 ms | p99 ms | proxy CPU µs/req |\n|---|---:|---:|---:|---:|---:|`
  const lines = []
  for (let p = 0; p < PAIRS; p++) {
    sides.forEach((side, i) => {
      const r = runs[i][p]
      lines.push(
        `| ${side} | ${p + 1} | ${int(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.cpuPerRequest ? int(r.cpuPerRequest) : '—'} |`,
      )
    })
  }
  sides.forEach((side, i) => {
    const rs = runs[i]
    lines.push(
      `| **${side}, median** |  | **${int(rps(rs))}** | ${ms(median(rs.map((r) => r.p50)))} | ${ms(median(rs.map((r) => r.p99)))} | ${rs[0].cpuPerRequest ? int(median(rs.map((r) => r.cpuPerRequest))) : '—'} |`,
    )
  })
  return `${head}\n${lines.join('\n')}`
}
const profileTable = (p) => {
  const origins = p.origins
    .slice(0, 8)
    .map((o) => `${o.name} ${(o.share * 100).toFixed(1)}%`)
    .join(' · ')
  const frames = p.frames
    .slice(0, 15)
    .map((f, i) => `| ${i + 1} | ${(f.share * 100).toFixed(1)}% | \`${f.name.replace(/\|/g, '\\|')}\` |`)
    .join('\n')
  return `**${p.title}** — ${int(p.rps)} req/s while profiled; ${int(p.totalMs)} ms busy, ${int(p.idleMs)} ms idle in the window.\nBy origin: ${origins}.\n\n| # | self | frame |\n|---:|---:|---|\n${frames}`
}

const md = `## proxy: keyhole against its baselines (bench/proxy.mjs)

\`npm run bench -- proxy\` (or, after \`npm run build -w @keyhole/core -w @keyhole/hono -w @keyhole/express\`,
\`node --expose-gc bench/proxy.mjs\`). Machine: ${machine}. Load average at the start ${fmtLoad(loadAtStart)},
at the end ${fmtLoad(loadAtEnd)} (this machine is shared with other work; see the note below). Total time ${((Date.now() - startedAt) / 1000).toFixed(0)} s.

Setup: the upstream (a minimal \`node:http\` server answering a fixed 57-byte JSON body, keep-alive), each
proxy, and the load generator (autocannon 8, programmatic, \`bench/proxy/load.mjs\`) run in processes of their
own on 127.0.0.1. Every run is ${WARM} s of warm-up (its own load process) then ${SECONDS} s measured, at
${CONNECTIONS} connections unless stated; the sides of a row alternate (A B A B A B) and the medians are compared.
Requests are \`GET ${path.replace(host, '127.0.0.1:PORT')}\` with \`X-Keyhole-Token\` and three ordinary headers; the keyhole servers run
open mode and authorize the target against a grant for \`http://127.0.0.1:PORT\`, strip the token and inject
\`Authorization\`. Latencies are per response from autocannon's hrtime durations (its own histogram rounds to
whole ms). "proxy CPU µs/req" is the proxy process's user+system CPU time over the measured window divided by the
responses (read over IPC), a figure that load from other processes disturbs much less than req/s.
Tokens: P-256 (the default). ${failures === 0 ? 'Every response in every run was a 2xx.' : `**${failures} requests failed** (non-2xx or socket errors) across the runs.`}

| # | measure | figure | baseline | ratio | target | met? |
|---|---|---|---|---|---|---|
${rows.map((r) => `| ${r.n} | ${r.measure} | ${r.figure} | ${r.baseline} | ${r.ratio} | ${r.target} | ${verdict(r.met)}${r.note} |`).join('\n')}

![keyhole proxy benchmark chart](bench/results/proxy.svg)

### Every run

Row 1 — Hono adapter (\`keyhole({ opener, forward: createNodeForwarder() })\` on \`@hono/node-server\`) vs a
\`node:http\` server piping to \`http.request\` with a keep-alive \`Agent\` (no header work at all):

${runTable('side', ['keyhole (Hono)', 'bare node:http'], results.row1)}

Row 2 — Express adapter (\`app.use('/proxy', keyhole({ opener }))\`, its defaults) vs Express 5 with
\`fetch(upstream + req.url, { headers, body: Readable.toWeb(req), duplex: 'half' })\` and
\`pipeline(Readable.fromWeb(response.body), res)\`:

${runTable('side', ['keyhole (Express)', 'bare Express + fetch'], results.row2)}

Row 3 — ${int(FRESH_TOKENS)} distinct tokens cycled in order (more than the opener's 10,000-entry cache, so every
open misses: the keyhole server made ${int(freshDecryptions)} decryptions for ${int(freshRequests)} measured responses). Baseline: the
\`node:http\` pass-through of row 1 plus \`jose.jwtDecrypt(token, key)\` (key imported once) on every request,
injecting the decrypted credential. The third side is keyhole with the opener's default (jose) decryption, for
reference:

${runTable('side', ['keyhole, nodeDecrypt', 'node:http + jose per request', 'keyhole, jose decrypt'], results.row3)}

Row 3, per open (in the bench process, ${QUICK ? 3 : 9} alternating rounds of ${QUICK ? 50 : 200} sequential calls, CPU time of all
threads): \`createOpener({ keyring, decrypt: nodeDecrypt, cacheSize: 0 }).open(token)\` — size, header,
decryption, claims, time and revocation checks — ${int(r3b.open)} µs; the raw primitives on precomputed inputs
(\`diffieHellman\` of two KeyObjects + SHA-256 + AES-256 key unwrap + AES-256-GCM decrypt of a plaintext of the
same size) ${int(r3b.raw)} µs; jose \`jwtDecrypt\` ${int(r3b.jose)} µs. Open ÷ raw = ${x(r3b.open / r3b.raw)}; jose ÷ open = ${x(r3b.jose / r3b.open)}.
Rounds (µs): open ${results.row3b.open.map(int).join(', ')}; raw ${results.row3b.raw.map(int).join(', ')}; jose ${results.row3b.jose.map(int).join(', ')}.

Row 4 — a fresh Hono keyhole server per mode, 50 tokens, ${CONNECTIONS} connections, ${int(50 * CONNECTIONS * 2)} requests.
"burst": each token on ${CONNECTIONS} consecutive requests, so they are in flight together; "cycle": tokens in turn.

| mode | requests | decryptions | cache hits | failed |
|---|---:|---:|---:|---:|
${row4.map((r) => `| ${r.mode} | ${int(r.requests)} | ${r.decryptions} | ${int(r.cacheHits)} | ${r.failed} |`).join('\n')}

Row 5 — latency through the Hono keyhole server vs straight to the upstream, same load generator, alternating:

${[1, CONNECTIONS].map((c) => `c=${c}:\n\n${runTable('side', ['through keyhole', 'direct'], results.row5[c])}`).join('\n\n')}

Row 6 — ${int(row6.tokens)} distinct tokens (bench-made, one ephemeral key per 50 tokens to keep minting fast; each open
still does the full ECDH) through a fresh Hono keyhole server with the default cache (10,000), ${CONNECTIONS} connections:
${int(row6.requests)} responses in ${row6.seconds.toFixed(0)} s, ${int(row6.decryptions)} decryptions, cache ${int(row6.cacheSize)} entries at the end.
RSS after GC: ${(row6.startRss / MB).toFixed(1)} MB at the start (after 1 s of warm-up), ${(row6.endRss / MB).toFixed(1)} MB at the end
(peak ${(row6.peakRss / MB).toFixed(1)} MB during the run); heap ${(row6.startHeap / MB).toFixed(1)} → ${(row6.endHeap / MB).toFixed(1)} MB.
Revocations: \`createMemoryStore()\` with ${int(row6b.count)} \`revoke(jti, exp)\` calls (22-character jtis as \`mint\` makes
them), in a fresh process: heap +${(row6b.heapDelta / MB).toFixed(1)} MB after GC (RSS +${(row6b.rssDelta / MB).toFixed(1)} MB), of which the id strings
themselves are ${(row6b.idStrings / MB).toFixed(1)} MB; filled in ${(row6b.fillMs / 1000).toFixed(1)} s; size ${int(row6b.size)}; a sample of 1 in 997 all revoked: ${row6b.sampledRevoked}.

Row 7 — ${TRANSFERS} × 100 MiB streamed through each server in each direction (upload: \`POST\` with \`Content-Length\`, upstream counts
the bytes; download: the upstream streams 100 MiB). Growth = the server's peak RSS during the transfer (VmHWM,
reset through \`/proc/PID/clear_refs\` just before) minus its RSS after GC just before. The bare \`node:http\`
pass-through is there for reference.

| server | direction | transfer | status | bytes arrived | seconds | RSS before | peak RSS growth |
|---|---|---:|---:|---:|---:|---:|---:|
${results.row7.map((r) => `| ${r.kind} | ${r.direction} | ${r.trial} | ${r.status} | ${int(r.bytes)} | ${r.seconds.toFixed(2)} | ${(r.before / MB).toFixed(1)} MB | ${(r.growth / MB).toFixed(1)} MB |`).join('\n')}

Medians: ${row7groups.map((g) => `${g.kind} ${g.direction} ${(g.median / MB).toFixed(1)} MB`).join('; ')}.

### Profiles

CPU profiles of the proxy process under the same load (V8's sampling profiler, 1 ms interval — what
\`node --cpu-prof\` records — started and stopped over IPC around a ${SECONDS} s window after 1 s of warm-up, so start-up
is not in it). Self time per function, the top 15, and the share by where the code lives. \`writev\` and
\`writeLatin1String\` are the socket writes (the system call happens inside them).

${profiles.map(profileTable).join('\n\n')}
`

writeFileSync(join(root, 'bench/results/proxy.md'), md)
writeFileSync(
  join(root, 'bench/results/proxy.svg'),
  renderChart({
    subtitle: `${machine}; load average ${fmtLoad(loadAtStart)} at the start. ${PAIRS} alternating runs per side.`,
    throughput: [
      {
        label: 'Row 1: Hono',
        note: `${x(r1.kh / r1.base)} (target ≥ 0.85×)`,
        met: rows[0].met,
        bars: [
          { label: 'keyhole', kind: 'keyhole', runs: results.row1[0].map((r) => r.rps) },
          { label: 'node:http', kind: 'base', runs: results.row1[1].map((r) => r.rps) },
        ],
      },
      {
        label: 'Row 2: Express',
        note: `${x(r2.kh / r2.base)} (target ≥ 1.0×)`,
        met: rows[1].met,
        bars: [
          { label: 'keyhole', kind: 'keyhole', runs: results.row2[0].map((r) => r.rps) },
          { label: 'fetch', kind: 'base', runs: results.row2[1].map((r) => r.rps) },
        ],
      },
      {
        label: 'Row 3: fresh token',
        note: `${x(r3.kh / r3.base)} (target ≥ 2×)`,
        met: r3.kh / r3.base >= 2,
        bars: [
          { label: 'keyhole', kind: 'keyhole', runs: results.row3[0].map((r) => r.rps) },
          { label: 'jose/req', kind: 'base', runs: results.row3[1].map((r) => r.rps) },
          { label: 'kh+jose', kind: 'extra', runs: results.row3[2].map((r) => r.rps) },
        ],
      },
    ],
    latency: [1, CONNECTIONS].flatMap((c) =>
      ['p50', 'p99'].map((k) => ({
        label: `c=${c} ${k}`,
        bars: [
          { label: 'kh', kind: 'keyhole', runs: results.row5[c][0].map((r) => r[k]) },
          { label: 'direct', kind: 'direct', runs: results.row5[c][1].map((r) => r[k]) },
        ],
      })),
    ),
    budgets: [
      {
        label: `Row 6: RSS after ${int(row6.tokens)} tokens`,
        used: (row6.endRss - row6.startRss) / MB,
        limit: 50,
        unit: 'MB',
      },
      { label: `Row 6: cache entries (thousands)`, used: row6.cacheSize / 1000, limit: 10, unit: 'k' },
      {
        label: `Row 6: heap for ${int(row6b.count)} revocations`,
        used: row6b.heapDelta / MB,
        limit: 150,
        unit: 'MB',
      },
      ...row7keyhole.map((g) => ({
        label: `Row 7: ${g.kind.replace('keyhole-', '')} ${g.direction} 100 MiB (median)`,
        used: g.median / MB,
        limit: 30,
        unit: 'MB',
      })),
    ],
  }),
)
log('wrote bench/results/proxy.md and bench/results/proxy.svg')
for (const r of rows) log(`row ${r.n}: ${r.figure} | ${r.ratio} | ${verdict(r.met)}${r.note}`)
