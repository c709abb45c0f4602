// Test helpers: run the BUILT keyhole binary as a child process, the way a person would.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureBuilt } from '../scripts/ensure-built.mjs'

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  cwd?: string
  /** Added to a minimal environment (PATH and HOME only, so the test's own env cannot leak in). */
  env?: Record<string, string>
  input?: string
}

let bin: string | undefined

/** Builds the CLI once per test file if dist is missing or stale. Call from beforeAll. */
export function buildCli(): string {
  bin ??= ensureBuilt({ quiet: true })
  return bin
}

function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...extra }
}

/** Runs `keyhole ...args` to completion. */
export function keyhole(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [buildCli(), ...args], {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stdin.end(options.input ?? '')
  return collect(child)
}

function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** A running `keyhole serve`. */
export interface Served {
  url: string
  child: ChildProcess
  /** Everything written so far. */
  output(): { stdout: string; stderr: string }
  /** Resolves once stdout contains a line matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** Sends SIGTERM and resolves with the exit status. */
  stop(): Promise<CliResult>
}

/** Spawns `keyhole serve ...args --port 0` and waits until it prints its URL. */
export async function serve(args: readonly string[], options: CliOptions = {}): Promise<Served> {
  const child = spawn(process.execPath, [buildCli(), 'serve', '--port', '0', ...args], {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const done = collect(child)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk
  })
  const waitFor = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const match = stdout.split('\n').find((line) => pattern.test(line))
        if (match !== undefined) {
          cleanup()
          resolve(match)
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`timed out waiting for ${pattern}\nstdout:\n${stdout}\nstderr:\n${stderr}`))
      }, timeoutMs)
      const exited = () => {
        cleanup()
        reject(
          new Error(
            `keyhole serve exited while waiting for ${pattern}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
          ),
        )
      }
      const cleanup = () => {
        clearTimeout(timer)
        child.stdout?.off('data', check)
        child.off('exit', exited)
      }
      child.stdout?.on('data', check)
      child.once('exit', exited)
      check()
    })
  const line = await waitFor(/listening on http:\/\//)
  const url = (/listening on (http:\/\/\S+)/.exec(line) as RegExpExecArray)[1] as string
  return {
    url,
    child,
    output: () => ({ stdout, stderr }),
    waitFor,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return done
    },
  }
}

/** A fresh temporary directory, removed by the returned function. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'keyhole-cli-'))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

/**
 * What a forward-proxy test needs in `dir`, made with the CLI itself: a key set (`keys.json`), a
 * forward-proxy CA (`ca.json`) and its certificate (`ca.pem`, for the clients); returns a token
 * minted with `keys.json` for `hosts` that injects `Authorization: <authorization>`, valid 10 min.
 */
export async function forwardProxyFiles(
  dir: string,
  grant: { hosts: readonly string[]; authorization: string },
): Promise<string> {
  const run = async (args: readonly string[]) => {
    const result = await keyhole(args, { cwd: dir })
    if (result.code !== 0) throw new Error(`keyhole ${args[0]} exited with ${result.code}: ${result.stderr}`)
    return result.stdout
  }
  await run(['keygen', '--out', 'keys.json'])
  await run(['ca', 'init', '--out', 'ca.json'])
  await writeFile(join(dir, 'ca.pem'), await run(['ca', 'cert', '--ca', 'ca.json']))
  const hosts = grant.hosts.flatMap((host) => ['--host', host])
  const minted = await run([
    'mint',
    '--keys',
    'keys.json',
    ...hosts,
    '--header',
    `Authorization: ${grant.authorization}`,
    '--ttl',
    '10m',
  ])
  return minted.trim()
}
