// Benchmark of the revocation stores: isRevoked through the caching wrapper (hit and miss) against
// the raw store in the same run, and revoke -> other replica propagation over Redis pub/sub and
// Postgres LISTEN/NOTIFY.
//   npm run build -w @keyhole/core -w @keyhole/redis -w @keyhole/postgres && node bench/stores.mjs
// Needs Redis on 127.0.0.1:6379 and Postgres on 127.0.0.1:5432 (database `test`, user postgres).
// Writes bench/results/stores.md. KEYHOLE_BENCH_SAMPLES (default 200) alternating samples per comparison;
// KEYHOLE_BENCH_PROPAGATIONS (default 200) revocations per propagation measurement.
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { createCachingStore, createMemoryStore } from '@keyhole/core'
import { createPostgresStore } from '@keyhole/postgres'
import { createRedisStore } from '@keyhole/redis'
import { Redis } from 'ioredis'
import pg from 'pg'

const SAMPLES = Number(process.env.KEYHOLE_BENCH_SAMPLES ?? 200)
const PROPAGATIONS = Number(process.env.KEYHOLE_BENCH_PROPAGATIONS ?? 200)
const REDIS_URL = 'redis://127.0.0.1:6379'
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test'
const loadAtStart = os.loadavg()
const run = `${process.pid}_${Date.now().toString(36)}`
const HOUR = () => new Date(Date.now() + 3_600_000)

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]
const pct = (list, p) => {
  const sorted = [...list].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/**
 * Compares `b` with the baseline `a` by alternating them sample by sample (A B B A ...), each sample
 * being `batch` sequential awaited calls. This machine is shared and loaded: most samples run
 * undisturbed and some are preempted, so the MEDIAN sample estimates the undisturbed cost, and
 * alternation makes the load hit both sides alike. Returns µs per call for each side.
 */
async function alternating(a, b, batch, samples = SAMPLES) {
  let counter = 0
  const sample = async (fn) => {
    const start = performance.now()
    for (let i = 0; i < batch; i++) await fn(counter++)
    return ((performance.now() - start) * 1000) / batch
  }
  for (let i = 0; i < 5; i++) {
    await sample(a)
    await sample(b)
  }
  const as = []
  const bs = []
  for (let i = 0; i < samples; i++) {
    if (i % 2 === 0) {
      as.push(await sample(a))
      bs.push(await sample(b))
    } else {
      bs.push(await sample(b))
      as.push(await sample(a))
    }
  }
  return { a: median(as), b: median(bs) }
}

/**
 * Revokes PROPAGATIONS ids one after another on `a` and records, for each, the time from just
 * before `a.revoke()` to `b`'s feed listener firing, plus the revoke round trip itself.
 */
async function propagation(a, b, label) {
  const arrivals = new Map()
  const off = b.onRevoked((jti) => {
    const waiting = arrivals.get(jti)
    if (waiting) waiting(performance.now())
  })
  await Promise.all([a.ready(), b.ready()])
  const toListener = []
  const roundTrip = []
  for (let i = 0; i < PROPAGATIONS + 20; i++) {
    const jti = `prop-${label}-${run}-${i}`
    const arrived = new Promise((resolve) => arrivals.set(jti, resolve))
    const start = performance.now()
    await a.revoke(jti, HOUR())
    const written = performance.now()
    const at = await Promise.race([arrived, new Promise((r) => setTimeout(() => r(Number.NaN), 5_000))])
    arrivals.delete(jti)
    if (i < 20) continue // warm-up
    toListener.push(at - start)
    roundTrip.push(written - start)
  }
  off()
  const lost = toListener.filter(Number.isNaN).length
  const got = toListener.filter((x) => !Number.isNaN(x))
  return { p50: pct(got, 50), p99: pct(got, 99), max: Math.max(...got), lost, revokeP50: pct(roundTrip, 50) }
}

/** isRevoked cases for one raw store, each compared with the raw store's lookup of a revoked id. */
async function lookups(label, store, batch) {
  const revoked = `hit-${run}`
  const absent = `absent-${run}`
  await store.revoke(revoked, HOUR())
  const cached = createCachingStore(store, { feed: false, negativeTtl: '1h' })
  await cached.isRevoked(revoked)
  await cached.isRevoked(absent)
  const raw = () => store.isRevoked(revoked)
  // a fresh id every call: every call is a cache miss that goes to the store. Clearing now and
  // then keeps the cache small, so this measures misses, not eviction.
  const miss = (i) => {
    if (i % 10_000 === 0) cached.clear()
    return cached.isRevoked(`miss-${run}-${i}`)
  }
  const cases = [
    ['raw isRevoked, unknown id', () => store.isRevoked(absent), batch],
    ['caching wrapper, hit ("revoked")', () => cached.isRevoked(revoked), batch],
    ['caching wrapper, hit ("not revoked")', () => cached.isRevoked(absent), batch],
    ['caching wrapper, miss (new id each call)', miss, batch],
  ]
  const rows = []
  for (const [name, fn, n] of cases) {
    const cmp = await alternating(raw, fn, Math.min(n, batch))
    rows.push([`${label}: ${name}`, cmp.b, cmp.a])
  }
  cached.close()
  return rows
}

// --- stores ----------------------------------------------------------------------------------
const memory = createMemoryStore({ sweepInterval: false })
for (let i = 0; i < 100_000; i++) await memory.revoke(`fill-${i}`, HOUR())

const redisNames = { prefix: `keyhole-bench:${run}:`, channel: `keyhole-bench:${run}` }
const redisA = createRedisStore(redisNames)
const redisB = createRedisStore(redisNames)

const table = `kh_bench_${run}`
const pgA = createPostgresStore({ url: PG_URL, table, channel: table, sweepInterval: false })
const pgB = createPostgresStore({ url: PG_URL, table, channel: table, sweepInterval: false })
await pgA.migrate()

const rows = [
  ...(await lookups('memory (100k entries)', memory, 1000)),
  ...(await lookups('Redis', redisA, 20)),
  ...(await lookups('Postgres', pgA, 10)),
]
const redisProp = await propagation(redisA, redisB, 'redis')
const pgProp = await propagation(pgA, pgB, 'pg')

// --- versions, cleanup -----------------------------------------------------------------------
const rawRedis = new Redis(REDIS_URL)
const redisVersion = (await rawRedis.info('server')).match(/redis_version:(\S+)/)?.[1]
let cursor = '0'
do {
  const [next, keys] = await rawRedis.scan(cursor, 'MATCH', `${redisNames.prefix}*`, 'COUNT', 1000)
  if (keys.length > 0) await rawRedis.unlink(...keys)
  cursor = next
} while (cursor !== '0')
rawRedis.disconnect()
const client = new pg.Client({ connectionString: PG_URL })
await client.connect()
const pgVersion = (await client.query('SHOW server_version')).rows[0].server_version
await client.query(`DROP TABLE IF EXISTS "${table}"`)
await client.end()
await Promise.all([redisA.close(), redisB.close(), pgA.close(), pgB.close()])
memory.close()

// --- report ----------------------------------------------------------------------------------
const fmt = (x, digits = 2) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const ratio = (r) => (r < 0.5 ? `1/${fmt(1 / r, 0)}` : `${fmt(r)}×`)
const cpu = os.cpus()[0]?.model?.trim() ?? 'unknown CPU'
const machine = `${os.cpus().length} CPUs (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}; Redis ${redisVersion} and Postgres ${pgVersion} on the same machine (127.0.0.1)`
const table1 = rows
  .map(
    ([name, us, base]) =>
      `| ${name} | ${fmt(1e6 / us, 0)} | ${fmt(us, us < 10 ? 3 : 1)} | ${fmt(base, base < 10 ? 3 : 1)} | ${ratio(us / base)} |`,
  )
  .join('\n')
const propRow = (name, p) =>
  `| ${name} | ${fmt(p.p50)} | ${fmt(p.p99)} | ${fmt(p.max)} | ${p.lost} | ${fmt(p.revokeP50)} |`

const md = `## stores: revocation lookups and propagation

\`npm run build -w @keyhole/core -w @keyhole/redis -w @keyhole/postgres && node bench/stores.mjs\` — ${machine}.
Load average at the start: ${loadAtStart.map((l) => l.toFixed(1)).join(', ')}.

\`isRevoked\`, calls back to back (sequential \`await\`s: latency, not throughput). Each case is
compared with the same store's raw \`isRevoked\` of a revoked id by alternating the two, ${SAMPLES} samples each
(a sample is 1000 calls on the memory store, 20 on Redis, 10 on Postgres), and the median sample is
reported: this machine is shared and loaded, so most samples run undisturbed and some are preempted.
The baseline is the raw store's lookup of a revoked id, alternated with each case. "caching wrapper" is \`createCachingStore(store, { negativeTtl: '1h' })\`;
a hit is answered from its \`Map\`; a miss uses a fresh id on every call, so it pays the store's round
trip plus the wrapper's bookkeeping. The Redis and Postgres stores run with their defaults (Postgres:
its own pool of 10, one prepared statement per query).

| case | ops/s | µs/op | baseline µs/op (same run, alternated) | ratio to baseline |
|---|---:|---:|---:|---|
${table1}

Propagation: two store instances with their own connections (what two proxy replicas have);
${PROPAGATIONS} revocations on A one after another, each timed from just before \`A.revoke()\` to B's
\`onRevoked\` listener firing (that is when B's caching wrapper marks the id revoked). The last column is
A's own \`revoke()\` round trip, for comparison.

| feed | p50 ms | p99 ms | max ms | lost | A.revoke() p50 ms |
|---|---:|---:|---:|---:|---:|
${propRow('Redis pub/sub', redisProp)}
${propRow('Postgres LISTEN/NOTIFY', pgProp)}
`
writeFileSync(new URL('./results/stores.md', import.meta.url), md)
console.log(md)
