// keyhole serve on SIGTERM and with its store away, against the built binary: readiness turns 503
// at once, connections are accepted for --drain-delay and refused after it, a request in flight
// finishes (or is cut at --drain-timeout), and the exit code is 0. The store's outage is a TCP
// relay in front of the real Redis, cut and restored (the shared Redis itself keeps running).
import { request } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Relay, startRelay } from '../../../test/faults/relay.js'
import { startUpstream, type Upstream } from '../../core/test/kit/index.js'
import { buildCli, keyhole, type Served, serve, tempDir } from './cli.js'

let dir: string
let remove: () => Promise<void>
let upstream: Upstream
let upstreamHost: string
const running: Served[] = []

// An upstream that answers /delay/<ms> after that many milliseconds.
beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  upstream = await startUpstream({
    routes: {
      '/delay/': (_req, res, record) => {
        const timer = setTimeout(() => res.end('slow answer'), Number(record.path.slice('/delay/'.length)))
        res.on('close', () => clearTimeout(timer))
      },
    },
  })
  upstreamHost = upstream.authority
  await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })
}, 300_000)
afterEach(async () => {
  await Promise.all(running.splice(0).map((served) => served.stop()))
})
afterAll(async () => {
  await upstream.close()
  await remove()
})

async function start(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const served = await serve(['--keys', 'keys.json', ...args], { cwd: dir, env })
  running.push(served)
  return served
}

async function mintFor(url: string): Promise<string> {
  const result = await keyhole(
    [
      'mint',
      '--jwks',
      `${url}/.well-known/jwks.json`,
      '--issuer-key',
      'keys.json',
      '--host',
      `http://${upstreamHost}`,
      '--header',
      'Authorization: Bearer drain-test',
      '--ttl',
      '10m',
    ],
    { cwd: dir },
  )
  expect(result.code).toBe(0)
  return result.stdout.trim()
}

/** A GET on a connection of its own: the status, or the connection error's code. */
function fresh(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
    req.end()
  })
}

/** Resolves when the upstream has received a request for `path` (each test asks for its own). */
const upstreamReceives = (path: string) => upstream.arrived(path)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `url` on fresh connections until it answers `status`; how long that took. */
async function until(url: string, status: number, ms = 10_000): Promise<number> {
  const started = Date.now()
  while ((await fresh(url)) !== status) {
    if (Date.now() - started > ms) throw new Error(`${url} never answered ${status}`)
    await sleep(100)
  }
  return Date.now() - started
}

function exited(served: Served): Promise<number | null> {
  const { child } = served
  if (child.exitCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

describe('keyhole serve draining on SIGTERM', () => {
  it('turns /readyz 503 at once, accepts for --drain-delay, refuses after, finishes the slow request, exits 0', async () => {
    const served = await start(['--drain-delay', '600ms', '--drain-timeout', '10s'])
    const token = await mintFor(served.url)
    expect(await fresh(`${served.url}/readyz`)).toBe(200)
    const reached = upstreamReceives('/delay/1500')
    const slow = fetch(`${served.url}/http/${upstreamHost}/delay/1500`, {
      headers: { 'x-keyhole-token': token },
    }).then(async (response) => ({ status: response.status, body: await response.text() }))
    await reached
    const exit = exited(served)
    served.child.kill('SIGTERM')
    await served.waitFor(/SIGTERM: finishing requests in flight/)
    // Within the delay: not ready, yet still serving new connections.
    expect(await fresh(`${served.url}/readyz`)).toBe(503)
    expect(await fresh(`${served.url}/healthz`)).toBe(200)
    await sleep(900)
    // Past the delay the listener is closed, while the slow request is still in flight.
    expect(await fresh(`${served.url}/healthz`)).toBe('ECONNREFUSED')
    expect(served.child.exitCode).toBeNull()
    expect(await slow).toEqual({ status: 200, body: 'slow answer' })
    expect(await exit).toBe(0)
    expect(served.output().stdout).toMatch(/ stopped\n/)
  })

  it('cuts a request that outlasts --drain-timeout and still exits 0 soon after', async () => {
    const served = await start(['--drain-timeout', '500ms'])
    const token = await mintFor(served.url)
    const reached = upstreamReceives('/delay/60000')
    const hanging = fetch(`${served.url}/http/${upstreamHost}/delay/60000`, {
      headers: { 'x-keyhole-token': token },
    }).then(
      (response) => response.text().then(() => 'answered'),
      () => 'cut',
    )
    await reached
    const exit = exited(served)
    const signalled = Date.now()
    served.child.kill('SIGTERM')
    expect(await hanging).toBe('cut')
    expect(await exit).toBe(0)
    // 500 ms of grace, then the cut and the store's close: nowhere near the upstream's 60 s.
    expect(Date.now() - signalled).toBeLessThan(5_000)
    // The cut request is the proxy's own doing, not the upstream's fault.
    const lines = served
      .output()
      .stdout.split('\n')
      .filter((line) => line.includes('/delay/60000'))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/ 499 client_aborted GET /)
  })

  it('refuses a --drain-delay or --drain-timeout that is not a duration', async () => {
    for (const flag of ['--drain-delay', '--drain-timeout']) {
      const result = await keyhole(['serve', '--keys', 'keys.json', '--port', '0', flag, 'soon'], {
        cwd: dir,
      })
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`${flag} takes a duration`)
    }
    const help = await keyhole(['serve', '--help'])
    expect(help.stdout).toContain('--drain-delay <time>')
    expect(help.stdout).toContain('--drain-timeout <time>')
  })
})

describe('keyhole serve readiness and its store', () => {
  let relay: Relay
  beforeAll(async () => {
    relay = await startRelay(6379)
  })
  afterAll(async () => {
    await relay.close()
  })

  it('answers /readyz 503 while Redis is unreachable and 200 again when it returns; /healthz stays 200', async () => {
    const served = await start(['--store-env', 'STORE_URL'], { STORE_URL: `redis://127.0.0.1:${relay.port}` })
    expect(await fresh(`${served.url}/readyz`)).toBe(200)
    await relay.down()
    await until(`${served.url}/readyz`, 503)
    expect(await fresh(`${served.url}/healthz`)).toBe(200)
    await relay.up()
    await until(`${served.url}/readyz`, 200, 15_000)
    expect(await fresh(`${served.url}/healthz`)).toBe(200)
  })
})
