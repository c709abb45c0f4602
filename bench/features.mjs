// bench/features.mjs — what each feature of the proxy costs: every row is the same request with
// and without the feature, measured side by side in one run against the real engine (Hono on
// @hono/node-server, createNodeOpener, createNodeForwarder) and a real local upstream. The
// upstream, the proxy and the load generator run in processes of their own on 127.0.0.1; the
// sides of a row alternate (A B, B A, A B, ...) and medians are compared.
//
//   npm run bench -- features
//   node --expose-gc bench/features.mjs   (after `npm run build -w @keyhole/core -w @keyhole/client -w @keyhole/hono -w @keyhole/aws`)
//
// Env: KEYHOLE_BENCH_QUICK=1 shortens every run (for trying the script, not for figures);
// KEYHOLE_BENCH_PAIRS (rounds per row, default 3), KEYHOLE_BENCH_SECONDS (measured seconds per
// run, default 2.5). Writes bench/results/features.md. FEATURES_ONLY=ws runs only the WebSocket
// rows (5c, 5d; bench/features/websocket.mjs, which lists their own env) and prints them, leaving
// bench/results/features.md as it is.
import { execSync } from 'node:child_process'
import crypto from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { awsSigV4Injector } from '@keyhole/aws'
import {
  attenuate,
  createInjectorRegistry,
  createKeyring,
  generateKey,
  mint,
  toPublicJwk,
} from '@keyhole/core'
import { createCertificateAuthority } from '@keyhole/core/node'
import { start } from './features/harness.mjs'
import { websocketMarkdown, websocketRows } from './features/websocket.mjs'

const QUICK = process.env.KEYHOLE_BENCH_QUICK === '1'
const PAIRS = Number(process.env.KEYHOLE_BENCH_PAIRS ?? 3)
const SECONDS = Number(process.env.KEYHOLE_BENCH_SECONDS ?? (QUICK ? 1 : 2.5))
const WARM = QUICK ? 0.3 : 0.5
const CONNECTIONS = 16
const DOWNLOAD = 100 * 1024 * 1024
const DOWNLOAD_PAIRS = Math.max(PAIRS, QUICK ? 2 : 4)
const SSE_EVENTS = QUICK ? 10 : 20
const NEW_HOSTS = QUICK ? 5 : 20
const MB = 1024 * 1024

const startedAt = Date.now()
const loadAtStart = os.loadavg()
const log = (...args) =>
  console.log(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s]`, ...args)
const int = (n) => Math.round(n).toLocaleString('en-US')
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]
const times = (x) => `${x.toFixed(2)}×`
const verdict = (ok) => (ok ? 'met' : '**missed**')

// ---------------------------------------------------------------------------------------------
// Keys, CA, processes.

const root = new URL('..', import.meta.url).pathname
const dir = mkdtempSync(join(os.tmpdir(), 'keyhole-bench-features-'))
const key = await generateKey()
const keyring = createKeyring([key])
const to = keyring.publicJwks()
const issuer = await generateKey({ use: 'sig' })
const keyFile = join(dir, 'key.json')
const issuerFile = join(dir, 'issuer.json')
const caFile = join(dir, 'ca.json')
writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 })
writeFileSync(issuerFile, JSON.stringify(toPublicJwk(issuer)))
const ca = await createCertificateAuthority()
writeFileSync(caFile, JSON.stringify(ca.toJSON()), { mode: 0o600 })
const certFile = join(root, 'packages/core/test/proxy/fixtures/localhost-cert.pem')

// Rows 5c and 5d (WebSockets) start processes of their own; tokens signed by the same issuer.
const websocketOptions = () => ({
  start,
  signed: (grant) => mint(grant, { to, signWith: issuer }),
  files: { keyFile, issuerFile, certFile, caFile },
  caPem: ca.certificate,
  certPem: readFileSync(certFile, 'utf8'),
  quick: QUICK,
  log,
})
if (process.env.FEATURES_ONLY !== undefined) {
  if (process.env.FEATURES_ONLY !== 'ws') throw new Error('FEATURES_ONLY takes one value: ws')
  const result = await websocketRows(websocketOptions())
  rmSync(dir, { recursive: true, force: true })
  console.log(
    `\n${websocketMarkdown(result)}\n\nTotal time ${((Date.now() - startedAt) / 1000).toFixed(0)} s.`,
  )
  process.exit(0)
}

const upstream = await start('upstream.mjs')
const serverConfig = (extra) => JSON.stringify({ keyFile, issuerFile, certFile, ...extra })
const server = await start('server.mjs', [
  serverConfig({
    mounts: [
      { path: 'proxy', scrub: true },
      { path: 'noscrub', scrub: false },
    ],
    caFile,
    newHostForward: true,
  }),
])
const client = await start('client.mjs')
const proxyOrigin = `http://127.0.0.1:${server.port}`
const host = `127.0.0.1:${upstream.port}`
const httpsHost = `127.0.0.1:${upstream.httpsPort}`

// ---------------------------------------------------------------------------------------------
// Tokens: every one signed by the issuer, for the local upstream (a signed grant may name a
// loopback IP literal).

const rand = (n) => crypto.randomBytes(n).toString('hex')
const header = { type: 'header', name: 'Authorization', value: `Bearer sk-bench-${rand(12)}` }
const grantFor = (inject, extra = {}) => ({ hosts: [`http://${host}`], inject, ttl: '1h', ...extra })
const signed = (grant) =>
  mint(grant, { to, signWith: issuer, injectors: createInjectorRegistry([awsSigV4Injector]) })
const tokens = {
  plain: await signed(grantFor([header])),
  basic: await signed(grantFor([{ type: 'basic', username: 'robot', password: `pw-${rand(10)}` }])),
  hmac: await signed(
    grantFor([{ type: 'hmac', name: 'X-Signature', key: `whsec_${rand(16)}`, prefix: 'sha256=' }]),
  ),
  body: await signed(grantFor([{ type: 'body', field: '/api_key', value: `sk_live_${rand(16)}` }])),
  aws: await signed(
    grantFor([
      {
        type: 'aws-sigv4',
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: `wJalrXUtnFEMI/K7MDENG/${rand(9)}`,
        region: 'us-east-1',
        service: 'execute-api',
      },
    ]),
  ),
  oauth2: await signed(
    grantFor([
      { type: 'oauth2', tokenUrl: `http://${host}/token`, clientId: 'bench', clientSecret: `cs_${rand(12)}` },
    ]),
  ),
  https: await signed({ hosts: [`https://${httpsHost}`], inject: [header], ttl: '1h' }),
  newHost: await signed({
    hosts: [`https://*.bench.test:${upstream.httpsPort}`],
    inject: [header],
    ttl: '1h',
  }),
}
// Two layers of attenuation, each narrowing the paths (offline, with only the public JWKS).
tokens.attenuated = await attenuate(
  await attenuate(tokens.plain, { paths: ['/v1/**'] }, { to }),
  { paths: ['/v1/items'] },
  { to },
)
// A token bound to the client process's proof key (its private half never leaves that process).
const { publicJwk } = await client.ask('proof-key')
tokens.bound = await signed(grantFor([header], { bindKey: publicJwk }))

const PATH = '/v1/items?limit=10'
const open = (mount, t) => `${proxyOrigin}/${mount}/http/${host}${t ?? PATH}`
const baseHeaders = { accept: 'application/json', 'user-agent': 'bench-agent/1.0' }
const withToken = (token, extra = {}) => ({ ...baseHeaders, 'x-keyhole-token': token, ...extra })
// A 1 KiB JSON request body with an empty api_key field (the body injector fills it in).
const BODY = (() => {
  const head = '{"api_key":"","model":"bench-1","input":"'
  const tail = '"}'
  return head + 'x'.repeat(1024 - head.length - tail.length) + tail
})()
const jsonPost = (token) => ({
  method: 'POST',
  headers: withToken(token, { 'content-type': 'application/json' }),
  body: BODY,
})

// Every token does what it should before anything is timed: the upstream reports what arrived.
{
  const check = async (token, init = {}, mount = 'proxy') => {
    const response = await fetch(open(mount, '/check'), { headers: withToken(token), ...init })
    const text = await response.text()
    if (response.status !== 200) throw new Error(`check failed: ${response.status} ${text}`)
    return JSON.parse(text)
  }
  const expect = (what, ok) => {
    if (!ok) throw new Error(`sanity check failed: ${what}`)
  }
  expect('plain', (await check(tokens.plain)).scheme === 'Bearer')
  const inside = await fetch(open('proxy'), { headers: withToken(tokens.attenuated) })
  await inside.text()
  expect('attenuated token inside its paths', inside.status === 200)
  expect('basic', (await check(tokens.basic)).scheme === 'Basic')
  expect('oauth2', (await check(tokens.oauth2)).scheme === 'Bearer')
  expect('hmac', (await check(tokens.hmac, jsonPost(tokens.hmac))).signature)
  expect('body', (await check(tokens.body, jsonPost(tokens.body))).bodyKey)
  const aws = await check(tokens.aws, jsonPost(tokens.aws))
  expect('aws-sigv4', aws.scheme === 'AWS4-HMAC-SHA256' && aws.amzDate)
  expect('noscrub', (await check(tokens.plain, {}, 'noscrub')).scheme === 'Bearer')
  const bound = await fetch(open('proxy', '/check'), { headers: withToken(tokens.bound) })
  await bound.text()
  expect('bound token refused without a proof', bound.status === 401)
  // The attenuated token's paths are enforced (outside /v1/items).
  const outside = await fetch(open('proxy', '/v2/other'), { headers: withToken(tokens.attenuated) })
  await outside.text()
  expect('attenuation enforced', outside.status === 403)
}

// ---------------------------------------------------------------------------------------------
// Measured runs.

/** One run of `side` through the client process, with the proxy's CPU time around it. */
async function measure(side, extra = {}) {
  const before = await server.ask('stats')
  const result = await client.ask(side.engine ?? 'autocannon', {
    url: side.url,
    method: side.method,
    headers: side.headers,
    body: side.body,
    proxy: side.proxy,
    connections: CONNECTIONS,
    warm: WARM,
    seconds: SECONDS,
    ...extra,
  })
  const after = await server.ask('stats')
  const cpu = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system
  return { ...result, cpuPerRequest: cpu / Math.max(1, result.requests) }
}

/**
 * PAIRS rounds over the sides, the order reversed every other round (A B C, C B A, A B C), so
 * drifting load hits every side alike. `extraFor(side, runsSoFar)` adds per-run arguments.
 */
async function alternate(label, sides, extraFor = () => ({})) {
  const runs = sides.map(() => [])
  for (let round = 0; round < PAIRS; round++) {
    const order = sides.map((_, i) => i)
    if (round % 2 === 1) order.reverse()
    for (const i of order) {
      const run = await measure(sides[i], extraFor(sides[i], runs))
      runs[i].push(run)
      log(
        `${label}: ${sides[i].label} run ${round + 1}: ${int(run.rps)} req/s, p50 ${run.p50.toFixed(2)} ms, ${int(run.cpuPerRequest)} µs CPU/req${run.failed ? `, ${run.failed} FAILED` : ''}${run.exhausted ? ' (proofs ran out)' : ''}`,
      )
    }
  }
  return sides.map((side, i) => ({
    label: side.label,
    runs: runs[i],
    rps: median(runs[i].map((r) => r.rps)),
    cpu: median(runs[i].map((r) => r.cpuPerRequest)),
    p50: median(runs[i].map((r) => r.p50)),
    failed: runs[i].reduce((a, r) => a + r.failed, 0),
  }))
}

const rows = []
const details = []
let scrubCpu
/** A row comparing `feature` with `base` in req/s (medians), against a target ratio. */
function ratioRow(n, measureText, feature, base, target, note = '') {
  const ratio = feature.rps / base.rps
  const met = ratio >= target
  const failed = feature.failed + base.failed
  rows.push({
    n,
    measure: measureText,
    figure: `${int(feature.rps)} req/s; ${int(feature.cpu)} µs CPU/req`,
    baseline: `${int(base.rps)} req/s; ${int(base.cpu)} µs CPU/req (${base.label})`,
    ratio: `${times(ratio)} (CPU ${times(feature.cpu / base.cpu)})`,
    target: `≥ ${target.toFixed(2)}×`,
    met: failed > 0 ? `**${failed} requests failed**` : verdict(met),
    note,
  })
}
const ORDER = ['1', '2', '3a', '3b', '3c', '3d', '3e', '4a', '4b', '4c', '5', '5b', '5c', '5d']
const byRow = (a, b) => ORDER.indexOf(String(a.n)) - ORDER.indexOf(String(b.n))
function runTable(n, title, sides) {
  const lines = [
    `${title}`,
    '',
    '| side | run | req/s | p50 ms | proxy CPU µs/req |',
    '|---|---:|---:|---:|---:|',
  ]
  for (const s of sides) {
    for (const [i, r] of s.runs.entries()) {
      lines.push(
        `| ${s.label} | ${i + 1} | ${int(r.rps)}${r.failed ? ` (${r.failed} failed)` : ''} | ${r.p50.toFixed(2)} | ${int(r.cpuPerRequest)} |`,
      )
    }
  }
  details.push({ n, text: lines.join('\n') })
}

// Warm-up of the proxy process as a whole (JIT, pools), before the first row: unmeasured.
log('warm-up')
for (const side of [
  { url: open('proxy'), headers: withToken(tokens.plain) },
  { url: open('noscrub'), headers: withToken(tokens.plain) },
  { url: open('proxy'), ...jsonPost(tokens.hmac) },
]) {
  await client.ask('autocannon', { ...side, connections: CONNECTIONS, warm: 0, seconds: QUICK ? 0.3 : 1.5 })
}

// Row 1: attenuation, on the cached path.
{
  log('row 1: 2-layer attenuated token vs the plain token')
  const sides = await alternate('row 1', [
    { label: 'plain token', url: open('proxy'), headers: withToken(tokens.plain) },
    { label: '2-layer attenuated token', url: open('proxy'), headers: withToken(tokens.attenuated) },
  ])
  ratioRow(
    1,
    'attenuation: a 2-layer attenuated token (paths narrowed twice), cached path, GET',
    sides[1],
    sides[0],
    0.95,
  )
  runTable('1', 'Row 1 — attenuation (autocannon, GET, one reused token per side):', sides)
}

// Row 2: proof of possession, a fresh proof per request.
{
  log('row 2: key-bound token + fresh Keyhole-Proof per request vs unbound token')
  const htu = `http://${host}/v1/items`
  const sign = await client.ask('sign-cost', {
    token: tokens.bound,
    htu,
    samples: QUICK ? 50 : 300,
    batch: 10,
  })
  let estimate = 0
  const sides = await alternate(
    'row 2',
    [
      { label: 'unbound token', engine: 'undici', url: open('proxy'), headers: withToken(tokens.plain) },
      {
        label: 'key-bound token + Keyhole-Proof',
        engine: 'undici',
        url: open('proxy'),
        headers: withToken(tokens.bound),
        bound: true,
      },
    ],
    (side, runs) => {
      // Enough proofs for the run: 1.5 × the most requests any run of this row has made so far
      // in as long (the unbound side runs first, and is the faster).
      for (const list of runs) for (const r of list) estimate = Math.max(estimate, r.rps * SECONDS)
      if (!side.bound) return {}
      return { proofs: { token: tokens.bound, htu, count: Math.ceil((estimate || 4000) * 1.5) + 500 } }
    },
  )
  const proofRuns = sides[1].runs
  const exhausted = proofRuns.filter((r) => r.exhausted).length
  ratioRow(
    2,
    'proof of possession: a key-bound token with a fresh `Keyhole-Proof` per request (ES256), GET',
    sides[1],
    sides[0],
    0.75,
    ` Client side: ${sign.us.toFixed(0)} µs to sign one proof (createProof, median).${exhausted ? ` ${exhausted} run(s) ran out of pre-signed proofs and ended early.` : ''}`,
  )
  rows.at(-1).figure += `; client signs a proof in ${sign.us.toFixed(0)} µs`
  runTable('2', 'Row 2 — proof of possession (undici, 16 loops of one awaited request, GET):', sides)
  details.push({
    n: '2',
    text: `Proofs signed before each bound run: ${proofRuns.map((r) => `${int(r.proofMs)} ms for ${int(r.requests + r.proofsLeft)} (${int(r.proofsLeft)} unused)`).join('; ')}.`,
  })
}

// Row 3: credential kinds against a plain header injection.
{
  log('row 3a: basic and oauth2 vs header, GET')
  const get = await alternate('row 3a', [
    { label: 'header', url: open('proxy'), headers: withToken(tokens.plain) },
    { label: 'basic', url: open('proxy'), headers: withToken(tokens.basic) },
    { label: 'oauth2 (cached access token)', url: open('proxy'), headers: withToken(tokens.oauth2) },
  ])
  const { tokenRequests } = await upstream.ask('stats')
  log('row 3b: hmac, body and aws-sigv4 vs header, 1 KiB JSON POST')
  const post = await alternate('row 3b', [
    { label: 'header, POST 1 KiB', url: open('proxy'), ...jsonPost(tokens.plain) },
    { label: 'hmac, POST 1 KiB', url: open('proxy'), ...jsonPost(tokens.hmac) },
    { label: 'body, POST 1 KiB', url: open('proxy'), ...jsonPost(tokens.body) },
    { label: 'aws-sigv4, POST 1 KiB', url: open('proxy'), ...jsonPost(tokens.aws) },
  ])
  ratioRow(
    '3a',
    'credential kind `basic` vs `header`, GET',
    get[1],
    get[0],
    0.95,
    ' Target "≈ 1.0×", read as ≥ 0.95×.',
  )
  ratioRow(
    '3b',
    'credential kind `oauth2`, access token cached, vs `header`, GET',
    get[2],
    get[0],
    0.95,
    ` The token endpoint was asked ${tokenRequests} time(s) in the whole run (the first request fetched the access token; every later one used the cached token).`,
  )
  ratioRow(
    '3c',
    'credential kind `hmac` (SHA-256 of the body) vs `header`, 1 KiB JSON POST',
    post[1],
    post[0],
    0.95,
  )
  ratioRow(
    '3d',
    'credential kind `body` (JSON field set) vs `header`, 1 KiB JSON POST',
    post[2],
    post[0],
    0.95,
  )
  ratioRow(
    '3e',
    'credential kind `aws-sigv4` (@keyhole/aws) vs `header`, 1 KiB JSON POST',
    post[3],
    post[0],
    0.95,
  )
  runTable('3a', 'Row 3a, 3b — GET (autocannon):', get)
  runTable('3c', 'Row 3c–3e — POST of a 1 KiB JSON body (autocannon):', post)
}

// Row 4a: scrubbing on the ordinary workload.
{
  log('row 4a: scrub on vs off')
  const sides = await alternate('row 4a', [
    { label: 'scrub: false', url: open('noscrub'), headers: withToken(tokens.plain) },
    { label: 'scrub: true (default)', url: open('proxy'), headers: withToken(tokens.plain) },
  ])
  scrubCpu = { on: sides[1].cpu, off: sides[0].cpu }
  ratioRow(
    '4a',
    'scrubbing: `scrub: true` (default) vs `scrub: false`, GET, small JSON answer',
    sides[1],
    sides[0],
    0.9,
  )
  runTable('4a', 'Row 4a — scrubbing, small answers (autocannon):', sides)
}

// Row 4c: SSE per-event latency (the main server, before the separate download servers).
{
  log('row 4c: SSE per-event delay, direct vs through the proxy')
  const sseUrl = (mount) =>
    mount ? open(mount, `/sse?events=${SSE_EVENTS}`) : `http://${host}/sse?events=${SSE_EVENTS}`
  const sides = [
    { label: 'direct to the upstream', url: sseUrl(), headers: baseHeaders },
    { label: 'keyhole, scrub: false', url: sseUrl('noscrub'), headers: withToken(tokens.plain) },
    { label: 'keyhole, scrub: true', url: sseUrl('proxy'), headers: withToken(tokens.plain) },
  ]
  const delays = sides.map(() => [])
  for (let round = 0; round < PAIRS; round++) {
    const order = sides.map((_, i) => i)
    if (round % 2 === 1) order.reverse()
    for (const i of order) {
      const r = await client.ask('sse', { url: sides[i].url, headers: sides[i].headers })
      if (r.status !== 200 || r.delays.length !== SSE_EVENTS)
        throw new Error(`SSE ${sides[i].label}: status ${r.status}, ${r.delays.length} events`)
      delays[i].push(...r.delays)
    }
  }
  const m = delays.map(median)
  const p90 = delays.map((d) => [...d].sort((a, b) => a - b)[Math.floor(d.length * 0.9)])
  log(`row 4c: medians ${m.map((x) => x.toFixed(3)).join(' / ')} ms`)
  rows.push({
    n: '4c',
    measure: `scrubbing: SSE per-event delay (upstream writes an event every 50 ms; ${SSE_EVENTS} events × ${PAIRS} streams per side)`,
    figure: `scrub on: ${m[2].toFixed(3)} ms median (p90 ${p90[2].toFixed(3)}); scrub off: ${m[1].toFixed(3)} ms`,
    baseline: `direct: ${m[0].toFixed(3)} ms median (p90 ${p90[0].toFixed(3)})`,
    ratio: `+${(m[2] - m[0]).toFixed(3)} ms over direct (scrubbing's share: ${m[2] - m[1] >= 0 ? '+' : ''}${(m[2] - m[1]).toFixed(3)} ms)`,
    target: 'reported (each event flushed, none held back)',
    met: 'reported',
    note: '',
  })
}

// Row 5: forward proxy.
{
  log('row 5: HTTPS through a reused CONNECT tunnel vs open mode, same HTTPS upstream')
  const sides = await alternate('row 5', [
    {
      label: 'open mode, HTTPS upstream',
      engine: 'undici',
      url: `${proxyOrigin}/proxy/https/${httpsHost}${PATH}`,
      headers: withToken(tokens.https),
    },
    {
      label: 'forward proxy, CONNECT + TLS interception',
      engine: 'undici',
      url: `https://${httpsHost}${PATH}`,
      headers: baseHeaders,
      proxy: { uri: proxyOrigin, token: tokens.https, ca: ca.certificate },
    },
  ])
  ratioRow(
    5,
    'forward proxy: HTTPS through reused CONNECT tunnels (TLS terminated with a keyhole leaf) vs open mode, same HTTPS upstream, GET',
    sides[1],
    sides[0],
    0.6,
  )
  runTable(
    '5',
    'Row 5 — forward proxy (undici: a keep-alive Pool for open mode, a ProxyAgent for CONNECT; 16 loops):',
    sides,
  )

  log('row 5b: first request to a new host (leaf certificate) vs a new tunnel to a known host')
  const proxy = { uri: `http://127.0.0.1:${server.newHostPort}`, token: tokens.newHost, ca: ca.certificate }
  const tag = rand(3)
  const firstTo = async (name) => {
    const r = await client.ask('first', {
      url: `https://${name}.bench.test:${upstream.httpsPort}${PATH}`,
      headers: baseHeaders,
      proxy,
    })
    if (r.status !== 200) throw new Error(`first request to ${name}: ${r.status}`)
    return r.ms
  }
  for (let i = 0; i < 3; i++) await firstTo('known')
  const fresh = []
  const known = []
  for (let i = 0; i < NEW_HOSTS; i++) {
    if (i % 2 === 0) {
      fresh.push(await firstTo(`h${i}-${tag}`))
      known.push(await firstTo('known'))
    } else {
      known.push(await firstTo('known'))
      fresh.push(await firstTo(`h${i}-${tag}`))
    }
  }
  // The CA alone, in this process: issuing a leaf (key pair, certificate, TLS context).
  const issue = []
  for (let i = 0; i < NEW_HOSTS; i++) {
    const t0 = performance.now()
    await ca.secureContext(`direct${i}-${tag}.bench.test`)
    issue.push(performance.now() - t0)
  }
  const diffs = fresh.map((f, i) => f - known[i])
  log(
    `row 5b: new host ${median(fresh).toFixed(2)} ms, known host ${median(known).toFixed(2)} ms, issue ${median(issue).toFixed(2)} ms`,
  )
  rows.push({
    n: '5b',
    measure: `forward proxy: the first request to a new host (a new tunnel, a leaf certificate issued), median of ${NEW_HOSTS} new hosts`,
    figure: `${median(fresh).toFixed(2)} ms for the first request to a new host`,
    baseline: `${median(known).toFixed(2)} ms for the first request in a new tunnel to a host whose leaf is cached (alternating)`,
    ratio: `leaf cost seen by the client: +${median(diffs).toFixed(2)} ms (median of pairwise differences); \`ca.secureContext(newHost)\` alone: ${median(issue).toFixed(2)} ms`,
    target: 'reported',
    met: 'reported',
    note: '',
  })
}

// Rows 5c, 5d: WebSocket echo round trips and connection setup, through keyhole vs direct.
const websocket = await websocketRows(websocketOptions())
rows.push(...websocket.rows)
details.push(...websocket.details)

// Row 4b: a 100 MB download, scrub on vs off, each proxy in a fresh process, RSS sampled.
{
  log('row 4b: 100 MB download through the proxy, scrub on vs off, proxy RSS sampled')
  const servers = [
    await start('server.mjs', [serverConfig({ mounts: [{ path: 'proxy', scrub: false }] })]),
    await start('server.mjs', [serverConfig({ mounts: [{ path: 'proxy', scrub: true }] })]),
  ]
  const labels = ['scrub: false', 'scrub: true (default)']
  const url = (s, bytes) => `http://127.0.0.1:${s.port}/proxy/http/${host}/big?bytes=${bytes}`
  const state = servers.map(() => ({ base: 0, peak: 0, mbps: [], growth: [] }))
  // Warm both the same way: small requests, then one 8 MB download; then a GC, and the baseline.
  for (const [i, s] of servers.entries()) {
    await client.ask('autocannon', {
      url: url(s, 57),
      headers: withToken(tokens.plain),
      connections: CONNECTIONS,
      warm: 0,
      seconds: QUICK ? 0.3 : 1,
    })
    await client.ask('download', { url: url(s, 8 * MB), headers: withToken(tokens.plain) })
    await s.ask('gc')
    state[i].base = s.rss()
    state[i].peak = state[i].base
  }
  for (let round = 0; round < DOWNLOAD_PAIRS; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0]
    for (const i of order) {
      const s = servers[i]
      const before = s.rss()
      let peak = before
      const timer = setInterval(() => {
        try {
          peak = Math.max(peak, s.rss())
        } catch {}
      }, 5)
      const r = await client.ask('download', { url: url(s, DOWNLOAD), headers: withToken(tokens.plain) })
      clearInterval(timer)
      peak = Math.max(peak, s.rss())
      if (r.status !== 200 || r.bytes !== DOWNLOAD)
        throw new Error(`download ${labels[i]}: ${r.status}, ${r.bytes} bytes`)
      state[i].peak = Math.max(state[i].peak, peak)
      state[i].mbps.push(r.bytes / MB / r.seconds)
      state[i].growth.push(peak - before)
      log(
        `row 4b: ${labels[i]} run ${round + 1}: ${(r.bytes / MB / r.seconds).toFixed(0)} MB/s, RSS ${((peak - before) / MB).toFixed(1)} MB over the run's start, ${((state[i].peak - state[i].base) / MB).toFixed(1)} MB over the baseline`,
      )
    }
  }
  await Promise.all(servers.map((s) => s.stop()))
  const tp = state.map((s) => median(s.mbps))
  const growth = state.map((s) => (s.peak - s.base) / MB)
  const ratio = tp[1] / tp[0]
  const extra = growth[1] - growth[0]
  rows.push({
    n: '4b',
    measure: `scrubbing: a 100 MB streamed download through the proxy (${DOWNLOAD_PAIRS} per side, alternating; each side a proxy process of its own, RSS sampled every 5 ms)`,
    figure: `scrub on: ${tp[1].toFixed(0)} MB/s; proxy RSS growth ${growth[1].toFixed(1)} MB`,
    baseline: `scrub off: ${tp[0].toFixed(0)} MB/s; proxy RSS growth ${growth[0].toFixed(1)} MB`,
    ratio: `${times(ratio)} throughput; RSS ${extra >= 0 ? '+' : ''}${extra.toFixed(1)} MB`,
    target: '≥ 0.80× throughput; RSS within 5 MB of scrub off',
    met: `${verdict(ratio >= 0.8)} / ${verdict(extra <= 5)}`,
    note: '',
  })
  details.push({
    n: '4b',
    text: [
      'Row 4b — 100 MB downloads (MB/s; RSS peak during the download minus RSS just before it):',
      '',
      '| side | run | MB/s | RSS growth in the run (MB) |',
      '|---|---:|---:|---:|',
      ...state.flatMap((s, i) =>
        s.mbps.map(
          (v, k) => `| ${labels[i]} | ${k + 1} | ${v.toFixed(0)} | ${(s.growth[k] / MB).toFixed(1)} |`,
        ),
      ),
      '',
      `RSS after warm-up and GC (the baseline of "growth"): scrub off ${(state[0].base / MB).toFixed(1)} MB, scrub on ${(state[1].base / MB).toFixed(1)} MB; peak over all downloads: ${(state[0].peak / MB).toFixed(1)} MB and ${(state[1].peak / MB).toFixed(1)} MB.`,
    ].join('\n'),
  })
}

await Promise.all([server.stop(), client.stop(), upstream.stop()])
rmSync(dir, { recursive: true, force: true })

// ---------------------------------------------------------------------------------------------
// Report.

let nproc = String(os.availableParallelism?.() ?? os.cpus().length)
try {
  nproc = execSync('nproc', { encoding: 'utf8' }).trim()
} catch {}
const cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown'
const machine = `${nproc} CPUs (nproc), ${cpuModel}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`
const loadAtEnd = os.loadavg()
const seconds = (Date.now() - startedAt) / 1000
const table = [
  '| # | measure | with the feature | without (baseline) | ratio (medians) | target | met? |',
  '|---|---|---|---|---|---|---|',
  ...rows
    .sort(byRow)
    .map(
      (r) => `| ${r.n} | ${r.measure} | ${r.figure} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.met} |`,
    ),
].join('\n')
const notes = rows
  .sort(byRow)
  .filter((r) => r.note)
  .map((r) => `- Row ${r.n}:${r.note}`)
notes.push(
  `- Rows 1–3 and 5 run with scrubbing on (the default), so their baselines include scrubbing's cost: on these small answers, ${int(scrubCpu.on - scrubCpu.off)} µs of proxy CPU per request (row 4a, ${int(scrubCpu.on)} vs ${int(scrubCpu.off)} µs). A feature's ratio against a proxy with \`scrub: false\` would be lower.`,
)

const markdown = `## features: what each feature costs

\`npm run bench -- features\` (or, after \`npm run build -w @keyhole/core -w @keyhole/client -w @keyhole/hono -w @keyhole/aws\`,
\`node --expose-gc bench/features.mjs\`). Machine: ${machine}. Load average at the start
${loadAtStart.map((l) => l.toFixed(1)).join(', ')}, at the end ${loadAtEnd.map((l) => l.toFixed(1)).join(', ')} (a shared machine:
compare the ratios, not the absolute figures). Total time ${seconds.toFixed(0)} s.

Setup: a \`node:http\` and a \`node:https\` upstream (the test certificate of \`packages/core/test/proxy/fixtures\`)
answering a 57-byte JSON body, keep-alive; the proxy — \`keyhole()\` of \`@keyhole/hono/node\` (the real engine,
\`createProxy\`) on \`@hono/node-server\` with \`createNodeOpener\` and \`createNodeForwarder\` (trusting the upstream's
certificate), \`awsSigV4Injector\` given to the opener and the engine, the forward proxy attached to the same server
with a keyhole CA; and the load generator each run in a process of their own on 127.0.0.1. Every row is the same request
to the same proxy process with and without the feature (different engines mounted side by side where the
option is the engine's, \`scrub\`), so only the feature differs. After an unmeasured warm-up of the proxy process, runs are ${WARM} s of warm-up then ${SECONDS} s measured
at ${CONNECTIONS} connections; the sides of a row alternate (A B, B A, A B, ...; ${PAIRS} runs per side) and their
medians are compared. Load: autocannon 8 (as in \`bench/proxy\`), except rows 2 and 5, which need what
autocannon cannot do (an awaited proof per request; an HTTPS proxy) and use an undici 7 client with ${CONNECTIONS}
loops of one awaited request each, for both sides. Requests are \`GET /proxy/http/127.0.0.1:PORT/v1/items?limit=10\`
with \`X-Keyhole-Token\` and two ordinary headers unless stated. Tokens are ES256-signed by an issuer the proxy trusts,
opened once and then served from the opener's cache (as a client reusing its token is). "CPU µs/req" is the proxy
process's user+system CPU over the measured window divided by the responses (read over IPC), a cross-check that load
from other processes disturbs less than req/s. Before any timing, every token was sent once to an upstream route
that reports what arrived (Basic, Bearer, \`X-Signature\`, the JSON field, \`AWS4-HMAC-SHA256\` + \`X-Amz-Date\`), the
bound token was refused without a proof and the attenuated one outside its paths.

${table}

${notes.join('\n')}
- Row 2: each proof is single-use (the proxy's replay cache) and good for 60 s, and autocannon cannot await
  one per request, so the client process signs a pool of proofs (\`createProof\`, WebCrypto ES256, with the key of
  \`generateProofKey()\`, the token bound to its \`publicJwk\`) just before each bound run, at least 1.5× as many as the
  fastest run of the row made, and each request takes the next one. Signing is therefore outside the measured window;
  its cost is the "client signs a proof" figure.
- Row 5b: the new hosts are \`*.bench.test\` names that a second forward-proxy server of the same process resolves to
  127.0.0.1 (its forwarder does not check the upstream certificate's name, which is for 127.0.0.1 only); every
  sample is one request through a new undici ProxyAgent (a new CONNECT, a TLS handshake with the proxy, one request).
${websocket.notes.join('\n')}

### Every run

${details
  .sort(byRow)
  .map((d) => d.text)
  .join('\n\n')}
`

writeFileSync(new URL('./results/features.md', import.meta.url), markdown)
console.log(markdown)
