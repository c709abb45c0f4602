// Benchmark of @keyhole/core's hot path, against raw jose measured in the same run.
//   npm run build -w @keyhole/core && node bench/core.mjs
// Writes bench/results/core.md. Options: KEYHOLE_BENCH_SAMPLES (alternating samples per side for
// jose vs open, default 3000), KEYHOLE_BENCH_ROUNDS (samples of the single cases, default 2000).
import { execSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import {
  authorize,
  createKeyring,
  createMemoryStore,
  createOpener,
  generateKey,
  mint,
  toPublicJwk,
} from '@keyhole/core'
import { compactDecrypt, importJWK, jwtVerify } from 'jose'
import { alternating } from './lib/alternating.mjs'

const loadAtStart = os.loadavg()
const SAMPLES = Number(process.env.KEYHOLE_BENCH_SAMPLES ?? 3000)
const CPU_SAMPLES = Math.round(SAMPLES / 3)
const ROUNDS = Number(process.env.KEYHOLE_BENCH_ROUNDS ?? 2000)
const JOSE_OPTIONS = { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] }

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]

/** Median and first quartile of ROUNDS samples of `batch` calls each, in milliseconds per call. */
async function single(fn, batch) {
  const samples = []
  for (let r = 0; r < ROUNDS + 20; r++) {
    const start = performance.now()
    for (let i = 0; i < batch; i++) await fn()
    if (r >= 20) samples.push((performance.now() - start) / batch)
  }
  samples.sort((x, y) => x - y)
  return { median: samples[Math.floor(samples.length / 2)], q1: samples[Math.floor(samples.length / 4)] }
}

const grantTemplate = {
  hosts: ['api.github.com'],
  paths: ['/repos/acme/**'],
  methods: ['GET', 'POST'],
  inject: [{ in: 'header', name: 'Authorization', value: `Bearer ghp_${'x'.repeat(36)}` }],
  ttl: '1h',
  sub: 'agent-bench',
}

async function curve(curve) {
  const key = await generateKey({ curve })
  const keyring = createKeyring([key])
  // The issuer signs the grant (ES256, the default); the openers trust its public half.
  const issuer = await generateKey({ use: 'sig' })
  const issuers = [toPublicJwk(issuer)]
  const token = await mint(grantTemplate, { to: keyring.publicJwks(), signWith: issuer })
  const { kid: _k, alg: _a, use: _u, ...material } = key
  const cryptoKey = await importJWK(material, 'ECDH-ES+A256KW')
  const issuerKey = await importJWK(issuers[0], 'ES256')
  const uncached = createOpener({ keyring, issuers, cacheSize: 0 })
  const cached = createOpener({ keyring, issuers })
  await cached.open(token)
  // jose doing what the opener must: decrypt, then verify the issuer's signature on the grant.
  const joseOpen = async () =>
    jwtVerify((await compactDecrypt(token, cryptoKey, JOSE_OPTIONS)).plaintext, issuerKey, {
      typ: 'keyhole-grant+jwt',
    })
  await joseOpen()
  const jose = { fn: joseOpen, batch: 1 }
  const open = { fn: () => uncached.open(token), batch: 1 }
  const hit = { fn: () => cached.open(token), batch: 100 }
  // CPU time per call, alternating single calls, as a cross-check less sensitive to scheduling.
  const cpuOf = async (fn) => {
    const before = process.cpuUsage()
    await fn()
    const used = process.cpuUsage(before)
    return (used.user + used.system) / 1000
  }
  const cpu = { jose: [], open: [] }
  for (let i = 0; i < CPU_SAMPLES; i++) {
    if (i % 2 === 0) cpu.jose.push(await cpuOf(jose.fn))
    cpu.open.push(await cpuOf(open.fn))
    if (i % 2 === 1) cpu.jose.push(await cpuOf(jose.fn))
  }
  return {
    token,
    cached,
    vsJose: await alternating(jose, open, SAMPLES),
    vsUncached: await alternating(open, hit, Math.round(SAMPLES / 2)),
    cpu: { jose: median(cpu.jose), open: median(cpu.open) },
  }
}

const p256 = await curve('P-256')
const x25519 = await curve('X25519')
const grant = await p256.cached.open(p256.token)
const request = { method: 'GET', url: 'https://api.github.com/repos/acme/app/issues?state=open' }
authorize(grant, request)

// A memory store holding one million revocations, asked about present and absent ids.
const store = createMemoryStore({ maxEntries: 1_000_000, sweepInterval: false })
const expires = new Date(Date.now() + 3600_000)
const fillStart = performance.now()
for (let i = 0; i < 1_000_000; i++) await store.revoke(`revoked-${i.toString(36).padStart(8, '0')}`, expires)
const fillSeconds = (performance.now() - fillStart) / 1000
if (store.size !== 1_000_000) throw new Error(`store holds ${store.size} entries, expected 1000000`)
// Ids are built beforehand, spread over the whole store, so only the lookup is measured.
const presentIds = Array.from(
  { length: 65_536 },
  (_, i) => `revoked-${((i * 7919) % 1_000_000).toString(36).padStart(8, '0')}`,
)
const absentIds = Array.from(
  { length: 65_536 },
  (_, i) => `missing-${(i * 7919).toString(36).padStart(8, '0')}`,
)
let probe = 0
const present = () => store.isRevoked(presentIds[probe++ & 65_535])
const absent = () => store.isRevoked(absentIds[probe++ & 65_535])
if (!(await present()) || (await absent())) throw new Error('memory store answers wrongly')

const authorizeMs = await single(() => authorize(grant, request), 50)
const presentMs = await single(present, 50)
const absentMs = await single(absent, 50)
store.close()

const fmt = (n, digits) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const us = (ms) => fmt(ms * 1000, ms < 0.01 ? 2 : 0)
const times = (x) => `${x.toFixed(2)}×`
const fraction = (x) => `1/${Math.round(1 / x)}`
const rows = []
for (const [name, r] of [
  ['P-256', p256],
  ['X25519', x25519],
]) {
  rows.push([
    `${name}: jose decrypt + verify (baseline)`,
    r.vsJose.a.median,
    r.vsJose.a.q1,
    '1.00×',
    us(r.cpu.jose),
  ])
  rows.push([
    `${name}: keyhole open, uncached`,
    r.vsJose.b.median,
    r.vsJose.b.q1,
    `${times(r.vsJose.ratio)} jose (q1: ${times(r.vsJose.ratioQ1)})`,
    `${us(r.cpu.open)} (${times(r.cpu.open / r.cpu.jose)})`,
  ])
  rows.push([
    `${name}: keyhole open, cache hit`,
    r.vsUncached.b.median,
    r.vsUncached.b.q1,
    `${fraction(r.vsUncached.ratio)} of uncached (q1: ${fraction(r.vsUncached.ratioQ1)})`,
    '',
  ])
}
for (const [name, t] of [
  ['authorize (host + path + method)', authorizeMs],
  ['memory store isRevoked, 1M entries, hit', presentMs],
  ['memory store isRevoked, 1M entries, miss', absentMs],
]) {
  rows.push([name, t.median, t.q1, `${fraction(t.median / p256.vsJose.a.median)} of P-256 jose`, ''])
}

const table = [
  '| case | ops/s | µs/op (median) | µs/op (q1) | ratio (medians) | CPU µs/op, median (ratio) |',
  '|---|---:|---:|---:|---|---|',
  ...rows.map(
    ([name, median, q1, ratio, cpu]) =>
      `| ${name} | ${fmt(1000 / median, 0)} | ${us(median)} | ${q1 === undefined ? '' : us(q1)} | ${ratio} | ${cpu} |`,
  ),
].join('\n')

const cpuModel =
  /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ??
  os.cpus()[0]?.model ??
  'unknown'
let nproc = String(os.availableParallelism?.() ?? os.cpus().length)
try {
  nproc = execSync('nproc', { encoding: 'utf8' }).trim()
} catch {}
const machine = `${nproc} CPUs (nproc), ${cpuModel}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`

const verdict = (ok) => (ok ? 'met' : '**missed**')
const targets = [
  ['P-256', p256],
  ['X25519', x25519],
]
  .map(
    ([c, r]) =>
      `- ${c}: uncached open = ${times(r.vsJose.ratio)} raw jose (target ≤ 1.15×: ${verdict(r.vsJose.ratio <= 1.15)}); ` +
      `cache hit = ${fraction(r.vsUncached.ratio)} of uncached (target ≤ 1/100: ${verdict(r.vsUncached.ratio <= 0.01)})`,
  )
  .join('\n')

const markdown = `## core: open, cache, authorize, revocation lookups

\`npm run build -w @keyhole/core && node bench/core.mjs\` — ${machine}.

Calls run back to back (sequential \`await\`s; one token of ${p256.token.length} characters for P-256,
${x25519.token.length} for X25519). This machine is shared and was loaded (load average
${loadAtStart.map((l) => l.toFixed(1)).join(', ')} at the start on ${nproc} CPUs), so totals and means are
dominated by preemption. Each comparison therefore alternates the two sides sample by sample (${SAMPLES} samples
of one open each for jose vs uncached; ${Math.round(SAMPLES / 2)} samples of one uncached open vs 100 cache hits) and
reports the median sample, which is what an undisturbed call costs; q1 is the first quartile. The last
column is a cross-check in CPU time per call (\`process.cpuUsage()\` around single calls, alternating,
${CPU_SAMPLES} each; all threads count, so WebCrypto work on the libuv pool is included). authorize and
isRevoked: median of ${ROUNDS} samples of 50 calls (\`await\`ed, as the opener does).
"jose decrypt + verify" is \`compactDecrypt(token, cryptoKey, { keyManagementAlgorithms, contentEncryptionAlgorithms })\`
then \`jwtVerify\` of the issuer's ES256 signature on the grant it holds, with both keys imported once — the floor
for anyone opening this signed token with jose. "uncached" is
\`createOpener({ keyring, issuers, cacheSize: 0 })\`: size check, header checks, jose \`compactDecrypt\`, the issuer's signature, claims and
policy validation, time checks and a revocation lookup in the default in-memory store. "cache hit" is the
same with the default 10,000-entry verified-grant cache after one open: clock, keyring and revocation
checks only. The memory store held 1,000,000 revocations (filled in ${fillSeconds.toFixed(1)} s).

${table}

${targets}
`

writeFileSync(new URL('./results/core.md', import.meta.url), markdown)
console.log(markdown)
