// Secrets never leak. Every outcome the proxy has is provoked — success with header, query and
// cookie credentials, every error code, upstream failures, client aborts, redirects — first
// in-process through all three proxies with onEvent on and the console captured, then through the
// built `keyhole serve` run with KEYHOLE_DEBUG=1 and NODE_DEBUG=http,net (Node's own debug log)
// and a password-protected Redis store that is killed mid-run. Every log line, event, error body
// and proxy-made response is searched for every credential value, token, private key, admin token
// and store password: zero hits.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createKeyring,
  createMemoryStore,
  createOpener,
  type KeyholePrivateJwk,
  type RevocationStore,
} from '@keyhole/core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ensureBuilt } from '../../packages/cli/scripts/ensure-built.mjs'
import { testIssuers } from '../../packages/core/test/kit/issuer.js'
import { freePort } from '../faults/relay.js'
import { send } from './harness/client.js'
import { PROXY_KINDS, type RunningProxy, startProxy } from './harness/proxies.js'
import { credential, leaks, observe, observedCount, secret, secretsIn } from './harness/secrets.js'
import { type Minted, makeKeys, mintFor } from './harness/tokens.js'
import { type Recorder, startRecorder } from './harness/upstream.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let upstream: Recorder

function routes(recorder: Recorder): void {
  recorder.route('/status/', (req, res) => {
    res
      .writeHead(Number(req.url?.split('/')[2] ?? 500), { 'content-type': 'text/plain' })
      .end('upstream error')
    return true
  })
  recorder.route('/redirect', (_req, res) => {
    res.writeHead(302, { location: 'http://127.0.0.2/elsewhere' }).end()
    return true
  })
  recorder.route('/live/hang', () => true)
  recorder.route('/live/reset-mid-body', (req, res) => {
    res.writeHead(200, { 'content-length': '1000' })
    res.write('partial')
    setTimeout(() => req.socket.destroy(), 20)
    return true
  })
}

interface Tokens {
  header: Minted
  queryCookie: Minted
  expired: Minted
  notYet: Minted
  revoked: Minted
  restricted: Minted
  storeFails: Minted
  foreign: Minted
}

async function mintAll(key: KeyholePrivateJwk, origin: string, closedPort: number): Promise<Tokens> {
  const hosts = [origin, `http://127.0.0.1:${closedPort}`]
  return {
    header: await mintFor(key, { hosts, inject: ['header', 'apikey'], sub: 'leak-test' }),
    queryCookie: await mintFor(key, { hosts, inject: ['query', 'cookie'] }),
    expired: await mintFor(key, { hosts, ttl: '1h' }, { now: () => Date.now() - 3 * 3600_000 }),
    notYet: await mintFor(key, { hosts, nbf: Math.floor(Date.now() / 1000) + 1800 }),
    revoked: await mintFor(key, { hosts }),
    restricted: await mintFor(key, { hosts, paths: ['/v1/only'], methods: ['GET'] }),
    storeFails: await mintFor(key, { hosts }),
    foreign: await mintFor(key, { hosts: ['http://127.0.0.1:1'] }),
  }
}

/** Provokes every outcome through one proxy base URL; returns the codes seen. */
async function exercise(
  base: string,
  t: Tokens,
  closedPort: number,
  { storeFailure, hangMs }: { storeFailure: boolean; hangMs: number },
): Promise<Set<string>> {
  const up = `${base}/http/127.0.0.1:${upstream.port}`
  const seen = new Set<string>()
  const go = async (url: string, headers: [string, string][], method = 'GET', body?: string) => {
    try {
      const reply = await send(url, { headers, method, timeoutMs: hangMs, ...(body ? { body } : {}) })
      seen.add(reply.code ?? String(reply.status))
    } catch (error) {
      seen.add(`client-error ${(error as Error).message}`)
    }
  }
  const tok = (m: Minted): [string, string] => ['x-keyhole-token', m.token]
  await go(`${up}/ok?x=1`, [tok(t.header), ['authorization', 'Basic c2FuZGJveA==']])
  await go(`${up}/ok?api_key=mine`, [tok(t.queryCookie), ['cookie', 'a=b']])
  await go(`${up}/ok`, [['authorization', `Bearer ${t.header.token}`]], 'POST', 'a body')
  await go(`${up}/ok`, [])
  await go(`${up}/ok`, [['x-keyhole-token', `${t.header.token.slice(0, -3)}AAA`]])
  await go(`${up}/ok`, [['x-keyhole-token', 'garbage']])
  await go(`${up}/ok`, [
    ['x-keyhole-token', t.header.token],
    ['x-keyhole-token', t.revoked.token],
  ])
  await go(`${up}/ok`, [tok(t.expired)])
  await go(`${up}/ok`, [tok(t.notYet)])
  await go(`${up}/ok`, [tok(t.revoked)])
  await go(`${base}/http/127.0.0.2:${upstream.port}/ok`, [tok(t.header)])
  await go(`${up}/ok`, [tok(t.foreign)])
  await go(`${up}/v1/other`, [tok(t.restricted)])
  await go(`${up}/v1/only`, [tok(t.restricted)], 'DELETE')
  await go(`${base}/ftp/127.0.0.1/x`, [tok(t.header)])
  await go(`${base}/http/127.0.0.1:${closedPort}/x?q=1`, [tok(t.queryCookie)])
  await go(`${up}/live/hang`, [tok(t.queryCookie)])
  await go(`${up}/live/reset-mid-body`, [tok(t.header)])
  await go(`${up}/status/500`, [tok(t.queryCookie)])
  await go(`${up}/status/429`, [tok(t.header)])
  await go(`${up}/redirect`, [tok(t.queryCookie)])
  if (storeFailure) await go(`${up}/ok`, [tok(t.storeFails)])
  // A client that gives up while the upstream hangs.
  await send(`${up}/live/hang`, { headers: [tok(t.header)], timeoutMs: 200 }).catch(() =>
    seen.add('client-abort'),
  )
  await sleep(300)
  return seen
}

const EVERY_CODE = [
  '200',
  'missing_token',
  'invalid_token',
  'token_expired',
  'token_not_yet_valid',
  'token_revoked',
  'host_not_allowed',
  'path_not_allowed',
  'method_not_allowed',
  'bad_target',
  'upstream_unreachable',
  'upstream_timeout',
]

beforeAll(async () => {
  upstream = await startRecorder({ name: 'granted' })
  routes(upstream)
})
afterAll(() => upstream.close())

describe('in-process: core, Hono and Express with onEvent and the console captured', () => {
  const proxies: RunningProxy[] = []
  let tokens: Tokens
  let closedPort: number
  const consoleSpies: ReturnType<typeof vi.spyOn>[] = []

  beforeAll(async () => {
    for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
      consoleSpies.push(
        vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
          for (const arg of args) observe(`console.${method}`, arg)
        }),
      )
    }
    const keys = await makeKeys()
    closedPort = await freePort()
    tokens = await mintAll(keys.key, upstream.origin, closedPort)
    const store = createMemoryStore()
    const jtiOf = async (m: Minted) =>
      (await createOpener({ keyring: keys.keyring, issuers: testIssuers }).open(m.token)).jti
    const revokedJti = await jtiOf(tokens.revoked)
    await store.revoke(revokedJti, new Date(Date.now() + 3600_000))
    const failing = await jtiOf(tokens.storeFails)
    const revocations: RevocationStore = {
      isRevoked: async (jti) => {
        if (jti === failing) throw new Error(`store failure while checking ${jti}`)
        return store.isRevoked(jti)
      },
      revoke: (jti, at) => store.revoke(jti, at),
    }
    const opener = createOpener({ keyring: keys.keyring, issuers: testIssuers, revocations })
    for (const kind of PROXY_KINDS) {
      proxies.push(
        await startProxy(kind, {
          opener,
          timeout: '500ms',
          tokenHeaders: ['x-api-key'],
          onEvent: (event) => observe('onEvent', event),
        }),
      )
    }
  })

  afterAll(async () => {
    for (const proxy of proxies) await proxy.close()
    for (const spy of consoleSpies) spy.mockRestore()
  })

  it('the leak check finds a secret when there is one (control)', () => {
    const value = credential('control')
    expect(secretsIn(`prefix ${value} suffix`)).toEqual([value])
    expect(secretsIn(`token segment ${tokens.header.token.split('.')[3]}`)).toHaveLength(1)
  })

  for (const [index, kind] of PROXY_KINDS.entries()) {
    it(`${kind}: every outcome provoked, no secret in any event, log line or error body`, async () => {
      const seen = await exercise(proxies[index]!.base, tokens, closedPort, {
        storeFailure: true,
        hangMs: 5000,
      })
      for (const code of [...EVERY_CODE, 'revocation_unavailable']) expect(seen, code).toContain(code)
      const events = proxies[index]!.events
      expect(events.length).toBeGreaterThan(20)
      expect(events.some((e) => e.outcome === 'client_aborted')).toBe(true)
      expect(leaks()).toEqual([])
    }, 60_000)
  }

  it('the upstream did get the credentials (so there was something to leak)', () => {
    const texts = upstream.texts().join('\n')
    for (const value of [...tokens.header.values, ...tokens.queryCookie.values])
      expect(texts).toContain(value)
    expect(observedCount().texts).toBeGreaterThan(100)
  })
})

describe('the built `keyhole serve` with KEYHOLE_DEBUG=1 and NODE_DEBUG=http,net', () => {
  let dir: string
  let redis: ChildProcess | undefined
  let redisPort: number
  const password = secret(`store-password-${credential('redis')}`)
  const adminToken = secret(`admin-${credential('admin')}`)

  beforeAll(async () => {
    ensureBuilt({ quiet: true })
    dir = await mkdtemp(join(tmpdir(), 'keyhole-leaks-'))
    redisPort = await freePort()
    redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--requirepass', password],
      {
        stdio: 'ignore',
      },
    )
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = connect(redisPort, '127.0.0.1')
        socket.once('connect', () => {
          socket.destroy()
          resolve(true)
        })
        socket.once('error', () => resolve(false))
      })
      if (up) break
      await sleep(50)
    }
  }, 240_000)

  afterAll(async () => {
    if (redis && redis.exitCode === null) redis.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('no secret in anything the process writes, across every outcome, admin calls and a store outage', async () => {
    const bin = ensureBuilt({ quiet: true })
    const run = (args: string[], env: Record<string, string> = {}) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, ...args], {
          cwd: dir,
          env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
        })
        let out = ''
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString()
        })
        child.stderr.on('data', (c: Buffer) => {
          out += c.toString()
        })
        child.on('close', (code) => resolve({ code, out }))
      })
    expect((await run(['keygen', '--out', 'keys.json'])).code).toBe(0)
    const key = (JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')) as { keys: KeyholePrivateJwk[] })
      .keys[0]!
    secret(key.d)
    const closedPort = await freePort()
    const tokens = await mintAll(key, upstream.origin, closedPort)
    // The tokens are signed by the test issuer: the proxy trusts its public keys.
    await writeFile(join(dir, 'issuers.json'), JSON.stringify({ keys: testIssuers }))

    const env = {
      KEYHOLE_DEBUG: '1',
      NODE_DEBUG: 'http,net',
      ADMIN: adminToken,
    }
    const child = spawn(
      process.execPath,
      [
        bin,
        'serve',
        '--keys',
        'keys.json',
        '--trust-issuer',
        'issuers.json',
        '--port',
        '0',
        '--admin-token-env',
        'ADMIN',
        '--token-header',
        'x-api-key',
        '--store',
        `redis://:${password}@127.0.0.1:${redisPort}`,
      ],
      { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, ...env } },
    )
    let output = ''
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString()
    })
    const deadline = Date.now() + 20_000
    while (!/listening on (http:\/\/\S+)/.test(output) && Date.now() < deadline && child.exitCode === null)
      await sleep(50)
    const base = /listening on (http:\/\/\S+)/.exec(output)?.[1]
    expect(base, output.slice(0, 2000)).toBeDefined()
    try {
      // Revoke through the admin route (right token), and try it with wrong ones.
      const jti = (
        await createOpener({ keyring: createKeyring([key]), issuers: testIssuers }).open(tokens.revoked.token)
      ).jti
      const revoke = (auth: string) =>
        send(`${base}/revoke`, {
          method: 'POST',
          headers: [
            ['authorization', auth],
            ['content-type', 'application/json'],
          ],
          body: JSON.stringify({ jti, exp: Math.floor(Date.now() / 1000) + 3600 }),
        })
      expect((await revoke(`Bearer ${adminToken}x`)).status).toBe(401)
      expect((await revoke(`Bearer ${tokens.header.token}`)).status).toBe(401)
      expect((await revoke(`Bearer ${adminToken}`)).status).toBeLessThan(300)
      // Mint through the admin route: the response is the token (by design); it is not logged.
      const minted = await send(`${base}/mint`, {
        method: 'POST',
        headers: [
          ['authorization', `Bearer ${adminToken}`],
          ['content-type', 'application/json'],
        ],
        body: JSON.stringify({
          hosts: [upstream.origin],
          inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${credential('minted')}` }],
          ttl: '10m',
        }),
      })
      if (minted.status === 200) {
        const token = (JSON.parse(minted.body) as { token?: string }).token
        if (token) secret(token)
      }

      // `serve` waits 30 s for upstream headers; the hanging request is abandoned by the client instead.
      const seen = await exercise(base!, tokens, closedPort, { storeFailure: false, hangMs: 1500 })
      for (const code of EVERY_CODE.filter((c) => c !== 'upstream_timeout'))
        expect(
          seen,
          `${code} ${[...seen].join(' | ')}\n${output
            .split('\n')
            .filter((l) => /^\d{4}-|keyhole|warning|error/i.test(l))
            .join('\n')
            .slice(0, 3000)}`,
        ).toContain(code)

      // The store goes away: fail closed, and its errors are logged without the password.
      redis!.kill('SIGKILL')
      await sleep(1500) // past the caching store's negative TTL (1 s)
      const during = await send(`${base}/http/127.0.0.1:${upstream.port}/ok`, {
        headers: [['x-keyhole-token', tokens.queryCookie.token]],
      })
      expect(during.code).toBe('revocation_unavailable')
      await sleep(1500)
    } finally {
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('close', resolve))
    }
    observe('keyhole serve output', output)
    expect(output).toMatch(/HTTP \d+:/) // NODE_DEBUG really was on
    expect(output).toMatch(/jti=/) // request log lines really were written
    expect(output.length).toBeGreaterThan(2000)
    const found = secretsIn(output)
    expect(
      found.map((s) => {
        const at = output.indexOf(s)
        return output.slice(Math.max(0, at - 200), at + 40).replace(s, '<SECRET>')
      }),
    ).toEqual([])
    expect(output).not.toContain(password)
    expect(output).not.toContain(adminToken)
    expect(leaks()).toEqual([])
  }, 120_000)
})
