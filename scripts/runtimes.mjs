#!/usr/bin/env node
// Runs the runtime-neutral smoke suite (test/runtimes/) against the BUILT core, hono and client
// packages under Node, Bun, Deno and workerd (Miniflare), each when it is installed, and fails
// if any run fails. Builds nothing: CI runs `npm run build` first. Bun, Deno and Miniflare come
// from npm (`npm install --no-save bun deno miniflare`); a runtime that is missing or whose
// binary does not start is skipped with a message, not failed.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
// esbuild is already here as tsup's bundler; it packs the worker for workerd.
import { build } from 'esbuild'
import { serve } from '../test/runtimes/serve.mjs'
import { createUpstream } from '../test/runtimes/upstream.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const suiteDir = join(root, 'test', 'runtimes')
const main = join(suiteDir, 'main.mjs')
// The whole suite runs in seconds; a runtime that hangs must not hold CI for long. A run killed
// for hanging is tried once more (Node 20.20's WebCrypto can deadlock in exportKey of a fresh
// X25519 key, see .ci/run), and the log still shows the hang.
const TIMEOUT_MS = 60_000
// Miniflare 3 (4 needs Node 22; CI has Node 20): its workerd knows compatibility dates up to its release.
const COMPATIBILITY_DATE = '2025-07-18'
const COUNT_LINE = /^(\w+): (\d+) passed, (\d+) failed$/m

/** The binary from the workspace's node_modules/.bin, else from PATH. */
function locate(name) {
  const dirs = [join(root, 'node_modules', '.bin'), ...(process.env.PATH ?? '').split(delimiter)]
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, name))) return join(dir, name)
  }
  return undefined
}

/** Why the binary cannot run, or undefined when `--version` works. */
function unusable(bin) {
  if (bin === undefined) return 'not installed'
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 })
  if (probe.status === 0) return undefined
  return `its binary does not start (${(probe.error?.message ?? probe.stderr ?? '').trim().split('\n')[0]})`
}

/** Runs a child runtime, echoing its output, and returns the counts it printed. */
function runChild(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const echo = (stream) => (chunk) => {
      output += chunk
      stream.write(chunk)
    }
    child.stdout.on('data', echo(process.stdout))
    child.stderr.on('data', echo(process.stderr))
    let hung = false
    const timer = setTimeout(() => {
      hung = true
      console.log(`killed after ${TIMEOUT_MS} ms without finishing`)
      child.kill('SIGKILL')
    }, TIMEOUT_MS)
    child.on('error', (error) => {
      clearTimeout(timer)
      resolve({ passed: 0, failed: 1, note: error.message })
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve(hung ? { hung: true, passed: 0, failed: 1, note: 'hung' } : counts(output, code === 0))
    })
  })
}

/** The counts from a run's closing line; a run that crashed before printing one counts as a failure. */
function counts(output, exitedCleanly) {
  const match = COUNT_LINE.exec(output.split('\n').filter(Boolean).slice(-1)[0] ?? '')
  if (!match) return { passed: 0, failed: 1, note: 'no result line' }
  const passed = Number(match[2])
  const failed = Number(match[3])
  // Exit status and counts must agree; a clean count with a bad exit is still a failure.
  return { passed, failed: failed === 0 && !exitedCleanly ? 1 : failed }
}

/** workerd through Miniflare: bundle the worker (workerd resolves no bare specifiers), run it once. */
async function runWorkerd() {
  let Miniflare
  try {
    ;({ Miniflare } = await import('miniflare'))
  } catch {
    return { skipped: 'miniflare is not installed (npm install --no-save miniflare@3)' }
  }
  const upstream = await serve(createUpstream().handle)
  let mf
  try {
    // Browser/worker conditions: the export a Workers bundler (wrangler) would pick. Kept in
    // memory: Miniflare names a module by its path from the cwd, and workerd refuses `..` in it.
    const bundle = await build({
      entryPoints: [join(suiteDir, 'worker.mjs')],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      conditions: ['workerd', 'worker', 'browser', 'import'],
      logLevel: 'error',
    })
    // No nodejs_compat flag: the universal entries must not need Node's built-ins.
    mf = new Miniflare({
      modules: true,
      script: bundle.outputFiles[0].text,
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: { UPSTREAM_URL: upstream.url },
    })
    const response = await withTimeout(mf.dispatchFetch('http://worker.test/'))
    const result = await response.json()
    for (const line of result.lines) console.log(line)
    console.log(`# workerd (miniflare, compatibility date ${COMPATIBILITY_DATE})`)
    console.log(`workerd: ${result.passed} passed, ${result.failed} failed`)
    return { passed: result.passed, failed: result.failed }
  } catch (error) {
    console.log(`workerd: the run failed: ${error instanceof Error ? error.stack : error}`)
    return { passed: 0, failed: 1 }
  } finally {
    // dispose() rethrows a failed start, already reported above.
    await mf?.dispose().catch(() => {})
    await upstream.close()
  }
}

function withTimeout(promise) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

async function runBinary(name, args) {
  const bin = locate(name)
  const why = unusable(bin)
  if (why) return { skipped: `${name} ${why} (npm install --no-save ${name})` }
  return retryHung(() => runChild(bin, [...args, main]))
}

async function retryHung(run) {
  const first = await run()
  if (!first.hung) return first
  console.log('the run hung; running it once more')
  return run()
}

const runs = [
  ['node', () => retryHung(() => runChild(process.execPath, [main]))],
  ['bun', () => runBinary('bun', [])],
  // --no-prompt: a missing permission must fail, not wait for an answer CI cannot give.
  ['deno', () => runBinary('deno', ['run', '--no-prompt', '--allow-net', '--allow-read', '--allow-env'])],
  ['workerd', () => runWorkerd()],
]

let passed = 0
let failed = 0
const summary = []
for (const [name, run] of runs) {
  console.log(`\n## ${name}`)
  const started = Date.now()
  const result = await run()
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  if (result.skipped) {
    console.log(`${name}: SKIPPED — ${result.skipped}`)
    summary.push(`${name} skipped (${result.skipped})`)
    continue
  }
  passed += result.passed
  failed += result.failed
  summary.push(
    `${name} ${result.failed === 0 ? 'ok' : 'FAILED'} ${result.passed}/${result.passed + result.failed} in ${seconds} s${result.note ? ` (${result.note})` : ''}`,
  )
}
console.log(`\n# ${summary.join('; ')}`)
console.log(`runtimes: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
