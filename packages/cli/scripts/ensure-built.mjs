// Builds the keyhole binary (packages/cli/dist/bin.js) when it is missing or older than any source
// it bundles. Used by `npm start` and by the CLI tests. Parallel callers (vitest runs test files in
// several processes) serialize on a lock directory so only one of them runs tsup.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// bin/keyhole.mjs runs isStale() before every command in a clone; what only a build needs
// (child_process, crypto) is loaded when one is due, so a start that builds nothing skips them.
const require = createRequire(import.meta.url)

const cliDir = new URL('..', import.meta.url).pathname
const root = join(cliDir, '..', '..')
/** The built binary. */
export const binPath = join(cliDir, 'dist', 'bin.js')

// Everything tsup bundles into the binary: the CLI and the workspace packages it imports.
const inputs = ['cli', 'core', 'hono', 'redis', 'postgres', 'aws'].map((name) =>
  join(root, 'packages', name, 'src'),
)
const extraInputs = [join(cliDir, 'tsup.config.ts'), join(cliDir, 'package.json')]

// Whether a file under `path` (tests aside) was modified after `time`; stops at the first one.
function changedSince(path, time) {
  const stats = statSync(path, { throwIfNoEntry: false })
  if (stats === undefined) return false
  if (!stats.isDirectory()) return stats.mtimeMs > time
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name.endsWith('.test.ts')) continue
    const child = join(path, entry.name)
    if (entry.isDirectory() ? changedSince(child, time) : statSync(child).mtimeMs > time) return true
  }
  return false
}

/** True when dist/bin.js is missing or older than a source file. */
export function isStale() {
  const built = statSync(binPath, { throwIfNoEntry: false })
  if (built === undefined) return true
  return [...inputs, ...extraInputs].some((input) => changedSince(input, built.mtimeMs))
}

let lockPath
function lockDir() {
  const { createHash } = require('node:crypto')
  lockPath ??= join(
    tmpdir(),
    `keyhole-cli-build-${createHash('sha256').update(cliDir).digest('hex').slice(0, 12)}.lock`,
  )
  return lockPath
}

function tryLock() {
  try {
    mkdirSync(lockDir())
    writeFileSync(join(lockDir(), 'pid'), String(process.pid))
    return true
  } catch (error) {
    if (error.code !== 'EEXIST') throw error
    // A lock left by a process that died would block everyone forever: take it over.
    let owner = Number.NaN
    try {
      owner = Number(readFileSync(join(lockDir(), 'pid'), 'utf8'))
    } catch {}
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner))
      rmSync(lockDir(), { recursive: true, force: true })
    return false
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === 'EPERM'
  }
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

// Swaps a finished build in with two renames, so a binary starting meanwhile sees a complete dist
// (the old or the new one), never a half-written or emptied one.
function swapIn(staging) {
  const dist = join(cliDir, 'dist')
  const old = `${staging}.old`
  if (existsSync(dist)) renameSync(dist, old)
  renameSync(staging, dist)
  rmSync(old, { recursive: true, force: true })
}

/**
 * Builds the CLI if needed. Returns the path of the binary. Throws if the build fails.
 * @param {{ quiet?: boolean }} [options]
 */
export function ensureBuilt(options = {}) {
  if (!isStale()) return binPath
  const deadline = Date.now() + 180_000
  while (!tryLock()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for the CLI build lock ${lockDir()}`)
    sleep(200)
  }
  try {
    if (isStale()) {
      if (!options.quiet)
        process.stderr.write('building the keyhole CLI (npm run build -w @keyhole/cli)...\n')
      // Build beside dist (under node_modules, which git and biome ignore), then swap it in.
      const stagingRoot = join(cliDir, 'node_modules', '.cache')
      mkdirSync(stagingRoot, { recursive: true })
      const staging = join(stagingRoot, `keyhole-cli-build-${process.pid}`)
      rmSync(staging, { recursive: true, force: true })
      const { spawnSync } = require('node:child_process')
      const result = spawnSync(
        'npm',
        ['run', 'build', '-w', '@keyhole/cli', '--silent', '--', '--out-dir', staging],
        {
          cwd: root,
          // Only the binary is needed here; declarations come with a full `npm run build`.
          env: { ...process.env, KEYHOLE_CLI_SKIP_DTS: '1' },
          stdio: options.quiet ? 'pipe' : ['ignore', 'inherit', 'inherit'],
          encoding: 'utf8',
        },
      )
      if (result.status !== 0) {
        rmSync(staging, { recursive: true, force: true })
        const output = options.quiet ? `\n${result.stdout ?? ''}${result.stderr ?? ''}` : ''
        throw new Error(`building the keyhole CLI failed (exit ${result.status})${output}`)
      }
      swapIn(staging)
    }
  } finally {
    rmSync(lockDir(), { recursive: true, force: true })
  }
  return binPath
}
