// `npm run bench -- footprint`: what `keyhole serve` costs a new user before it proxies anything.
// Two figures against a bare node:http server started the same way, in the same run, alternating:
// time from spawn to the first 200 on /healthz, and RSS after ~2 s idle following that request.
// Options: --starts N (per side, default 15), --idle MS (default 2000), --no-write (print only).
import { execSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { ensureBuilt } from '../packages/cli/scripts/ensure-built.mjs'

const root = new URL('..', import.meta.url).pathname
const arg = (name, fallback) => {
  const at = process.argv.indexOf(name)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}
const STARTS = arg('--starts', 15)
const IDLE_MS = arg('--idle', 2000)
const WRITE = !process.argv.includes('--no-write')
const launcher = join(root, 'packages/cli/bin/keyhole.mjs')
const distBin = join(root, 'packages/cli/dist/bin.js')
const bareServer = new URL('./footprint/bare-server.mjs', import.meta.url).pathname
const loadAtStart = os.loadavg()
const started = performance.now()

// Builds dist/ if a source changed, so the launcher's own staleness check finds nothing to do and
// only its cost (walking the sources' mtimes) is measured.
ensureBuilt({ quiet: true })
const tmp = mkdtempSync(join(os.tmpdir(), 'keyhole-footprint-'))
const keys = join(tmp, 'keys.json')
execSync(
  `${JSON.stringify(process.execPath)} ${JSON.stringify(distBin)} keygen --out ${JSON.stringify(keys)}`,
  {
    stdio: 'ignore',
  },
)

// Every side is a plain `node <script> ...` with no node flags and the same environment.
const sides = [
  { name: 'bare', label: 'bare node:http server', args: (port) => [bareServer, '--port', String(port)] },
  {
    name: 'launcher',
    label: '`keyhole serve` (bin/keyhole.mjs, what `npx keyhole` runs)',
    args: (port) => [launcher, 'serve', '--keys', keys, '--port', String(port)],
  },
  {
    name: 'dist',
    label: '`keyhole serve` (dist/bin.js directly, no staleness check)',
    args: (port) => [distBin, 'serve', '--keys', keys, '--port', String(port)],
  },
]

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

// One raw GET on a fresh connection; resolves to the status, or 0 if nothing answered yet.
function healthz(port) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', () => resolve(0))
    req.end()
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// kB figures from /proc/<pid>/status: resident set, its anonymous (heap, stacks, buffers) and
// file-backed (the node binary's and libraries' pages) parts.
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN)
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 }
}

// CPU time the process has used so far, all its threads, in ms (from the scheduler's own ns
// counters): unlike wall time, hardly changed by other processes competing for the cores.
function cpuMs(pid) {
  let ns = 0
  for (const task of readdirSync(`/proc/${pid}/task`))
    ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
  return ns / 1e6
}

async function measure(side) {
  const port = await freePort()
  let stderr = ''
  const t0 = performance.now()
  const child = spawn(process.execPath, side.args(port), {
    cwd: tmp,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: process.env,
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  let status = 0
  // Polls every 2 ms until the first 200 (a fresh connection each time, as a probe would).
  while (status !== 200) {
    if (child.exitCode !== null) throw new Error(`${side.name} exited early: ${stderr.slice(0, 500)}`)
    if (performance.now() - t0 > 30_000) throw new Error(`${side.name}: no 200 on /healthz within 30 s`)
    status = await healthz(port)
    if (status !== 200) await sleep(2)
  }
  const firstMs = performance.now() - t0
  const firstCpuMs = cpuMs(child.pid)
  await sleep(IDLE_MS)
  const mem = memory(child.pid)
  child.kill('SIGTERM')
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(killer)
  // A launcher that rebuilt dist/ (another source changed meanwhile) measured a build, not a start.
  const rebuilt = stderr.includes('building the CLI')
  return { firstMs, firstCpuMs, ...mem, rebuilt }
}

const results = Object.fromEntries(sides.map((side) => [side.name, []]))
let discarded = 0
// One round to warm the page cache, not counted; then A B C, C B A, ... so load hits all alike.
for (const side of sides) await measure(side)
for (let round = 0; round < STARTS; round++) {
  const order = round % 2 === 0 ? sides : [...sides].reverse()
  for (const side of order) {
    const sample = await measure(side)
    if (sample.rebuilt) discarded++
    else results[side.name].push(sample)
  }
  process.stdout.write(`\rround ${round + 1}/${STARTS}`)
}
process.stdout.write('\n')
rmSync(tmp, { recursive: true, force: true })
const loadAtEnd = os.loadavg()

const quartiles = (list) => {
  const sorted = [...list].sort((x, y) => x - y)
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]
  return { q1: at(0.25), median: at(0.5), q3: at(0.75) }
}
const stats = Object.fromEntries(
  sides.map((side) => {
    const samples = results[side.name]
    return [
      side.name,
      {
        n: samples.length,
        first: quartiles(samples.map((s) => s.firstMs)),
        cpu: quartiles(samples.map((s) => s.firstCpuMs)),
        rss: quartiles(samples.map((s) => s.rss)),
        anon: quartiles(samples.map((s) => s.anon)),
        file: quartiles(samples.map((s) => s.file)),
      },
    ]
  }),
)

const TARGET_RSS = 1.2
const TARGET_FIRST = 2
const bare = stats.bare
const fmt = (x, d = 1) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
const spread = (q, d = 1) => `${fmt(q.median, d)} (${fmt(q.q1, d)}–${fmt(q.q3, d)})`
const verdict = (ok) => (ok ? 'met' : '**missed**')
const rows = []
for (const side of sides.slice(1)) {
  const s = stats[side.name]
  const firstRatio = s.first.median / bare.first.median
  const rssRatio = s.rss.median / bare.rss.median
  const cpuRatio = s.cpu.median / bare.cpu.median
  const target = side.name === 'launcher'
  rows.push(
    `| first 200 on /healthz after spawn, ${side.label} | ${spread(s.first, 0)} ms | ${spread(bare.first, 0)} ms | ${fmt(firstRatio, 2)}× | ${target ? `≤ ${TARGET_FIRST}× | ${verdict(firstRatio <= TARGET_FIRST)}` : '(for comparison) | –'} |`,
    `| CPU time (all threads) until that first 200, ${side.label} | ${spread(s.cpu, 0)} ms | ${spread(bare.cpu, 0)} ms | ${fmt(cpuRatio, 2)}× | (less disturbed by load) | – |`,
    `| idle RSS ${IDLE_MS / 1000} s after it, ${side.label} | ${spread(s.rss)} MB | ${spread(bare.rss)} MB | ${fmt(rssRatio, 2)}× | ${target ? `≤ ${TARGET_RSS}× | ${verdict(rssRatio <= TARGET_RSS)}` : '(for comparison) | –'} |`,
  )
}
const breakdown = sides.map(
  (side) =>
    `| ${side.label} | ${fmt(stats[side.name].rss.median)} | ${fmt(stats[side.name].anon.median)} | ${fmt(stats[side.name].file.median)} | ${stats[side.name].n} |`,
)

let nproc = String(os.availableParallelism?.() ?? os.cpus().length)
try {
  nproc = execSync('nproc', { encoding: 'utf8' }).trim()
} catch {}
const cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown'
const machine = `${nproc} CPUs (nproc), ${cpuModel}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`
const load = (l) => l.map((x) => x.toFixed(1)).join(', ')
const markdown = `## footprint: what \`keyhole serve\` costs at start and at rest

\`npm run bench -- footprint\` (or \`node bench/footprint.mjs\`, which builds the CLI first if a source
changed). Machine: ${machine}. Load average at the start ${load(loadAtStart)}, at the end ${load(loadAtEnd)}.
Total time ${Math.round((performance.now() - started) / 1000)} s.

Each side is started ${STARTS} times (after one uncounted round that warms the page cache), the sides
alternating (A B C, C B A, ...): \`node <script> --port <free port>\`, no node flags, the same environment,
stdout ignored. \`keyhole serve\` runs as a new user starts it: \`--keys\` from \`keyhole keygen\`, no store,
default flags (scrubbing on, decrypt pool sized to the machine, no metrics, no CA). The baseline
(\`bench/footprint/bare-server.mjs\`) is a bare node:http server answering \`GET /healthz\` 200 with the same
body. "First 200" is from just before \`spawn()\` to the first 200, polling \`GET /healthz\` every 2 ms on a
fresh connection; "CPU time" is what the process used until then (\`/proc/<pid>/task/*/schedstat\`), which
competing load disturbs far less than the wall time; "idle RSS" is \`VmRSS\` from \`/proc/<pid>/status\` ${IDLE_MS / 1000} s after that first 200.
Medians, with the quartiles in brackets.${discarded > 0 ? ` ${discarded} start(s) where the launcher rebuilt dist/ (a source changed meanwhile) were left out.` : ''}

| measure | keyhole | bare node:http (same run) | ratio | target | met? |
|---|---|---|---|---|---|
${rows.join('\n')}

Where the resident memory is (medians, MB): anonymous pages are the V8 heap, code space, stacks and
buffers; file-backed pages are mostly the node binary's own, shared with every other node process.

| process | RSS | anonymous | file-backed | starts |
|---|---:|---:|---:|---:|
${breakdown.join('\n')}
`
if (WRITE) writeFileSync(new URL('./results/footprint.md', import.meta.url), markdown)
console.log(markdown)
