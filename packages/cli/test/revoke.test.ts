// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands
import { spawn } from 'node:child_process'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, startUpstream, type Upstream } from '../../core/test/kit/index.js'
import { buildCli, keyhole, type Served, serve, tempDir } from './cli.js'

// The real Redis and Postgres on 127.0.0.1 (.ci/run starts them). The CLI uses the stores'
// default key prefix / table; the jtis are random, so parallel test files cannot collide.
const REDIS = 'redis://127.0.0.1:6379'
const POSTGRES = 'postgres://postgres@127.0.0.1:5432/test'
const CREDENTIAL = 'sk-revoke-test-credential-a81f'
const ADMIN = 'admin-token-revoke-test-fedcba9876543210'

let dir: string
let remove: () => Promise<void>
let upstream: Upstream
const running: Served[] = []

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  upstream = await startUpstream()
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
  const served = await serve(['--keys', 'keys.json', ...args], {
    cwd: dir,
    env: { ADMIN_TOKEN: ADMIN, ...env },
  })
  running.push(served)
  return served
}

async function mintFor(url: string): Promise<{ token: string; jti: string; exp: number }> {
  const minted = await keyhole(
    [
      'mint',
      '--jwks',
      `${url}/.well-known/jwks.json`,
      '--issuer-key',
      'keys.json',
      '--host',
      upstream.origin,
      '--header',
      'X-Api-Key: ${K}',
      '--ttl',
      '10m',
    ],
    { cwd: dir, env: { K: CREDENTIAL } },
  )
  const token = minted.stdout.trim()
  const inspected = await keyhole(['inspect', '-', '--keys', 'keys.json'], { cwd: dir, input: token })
  const { jti, exp } = JSON.parse(inspected.stdout).claims
  return { token, jti, exp }
}

const status = async (url: string, token: string) => {
  const response = await fetch(`${url}/http/${upstream.authority}/x`, {
    headers: { 'x-keyhole-token': token },
  })
  await response.body?.cancel()
  return { status: response.status, code: response.headers.get('x-keyhole-error') }
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe('keyhole revoke', () => {
  it('revokes through one replica and the other refuses the token (shared Redis)', async () => {
    const a = await start(['--store', REDIS, '--admin-token-env', 'ADMIN_TOKEN'])
    const b = await start(['--store', REDIS])
    expect(a.output().stdout).toContain(`revocation  ${REDIS}`)
    const { token, jti, exp } = await mintFor(a.url)
    expect((await status(b.url, token)).status).toBe(200)

    const result = await keyhole(
      ['revoke', jti, '--url', a.url, '--admin-token-env', 'ADMIN_TOKEN', '--exp', String(exp)],
      { env: { ADMIN_TOKEN: ADMIN } },
    )
    expect(result.code).toBe(0)
    expect(result.stderr).toContain(`kept until ${new Date(exp * 1000).toISOString()}`)
    // B learns of it through Redis pub/sub; no restart, no waiting for a cache TTL.
    await eventually(async () => (await status(b.url, token)).code === 'token_revoked')
    expect(await status(a.url, token)).toEqual({ status: 403, code: 'token_revoked' })
  })

  it('writes straight into Redis with --store-env, and a running proxy on it refuses the token', async () => {
    const served = await start(['--store-env', 'STORE_URL'], { STORE_URL: REDIS })
    expect(served.output().stderr).not.toContain('warning: --store')
    const { token, jti } = await mintFor(served.url)
    expect((await status(served.url, token)).status).toBe(200)
    const result = await keyhole(['revoke', jti, '--store-env', 'STORE_URL'], { env: { STORE_URL: REDIS } })
    expect(result.code).toBe(0)
    expect(result.stderr).not.toContain('warning: --store')
    await eventually(async () => (await status(served.url, token)).code === 'token_revoked')
  })

  it('revokes everything one issuer key signed with --issuer, through the proxy and in the store', async () => {
    // Its own key set: revoking an issuer in the shared store must not touch the other tests' tokens.
    const { dir: own, remove: cleanup } = await tempDir()
    try {
      const generated = await keyhole(['keygen', '--out', 'keys.json'], { cwd: own })
      const kid = generated.stdout.split('\n')[1]?.slice('sig '.length) as string
      const mintIn = async (url: string) =>
        (
          await keyhole(
            [
              'mint',
              '--jwks',
              `${url}/.well-known/jwks.json`,
              '--issuer-key',
              'keys.json',
              '--host',
              upstream.origin,
              '--header',
              'X: v',
              '--ttl',
              '10m',
            ],
            { cwd: own },
          )
        ).stdout.trim()
      const served = await serve(['--keys', 'keys.json', '--admin-token-env', 'ADMIN_TOKEN'], {
        cwd: own,
        env: { ADMIN_TOKEN: ADMIN },
      })
      running.push(served)
      const first = await mintIn(served.url)
      expect((await status(served.url, first)).status).toBe(200)
      const result = await keyhole(
        ['revoke', '--issuer', kid, '--url', served.url, '--admin-token-env', 'ADMIN_TOKEN'],
        {
          env: { ADMIN_TOKEN: ADMIN },
        },
      )
      expect(result.stderr).toContain(`revoked everything issuer key ${kid} signed`)
      expect(result.code).toBe(0)
      expect(await status(served.url, first)).toEqual({ status: 403, code: 'token_revoked' })
      // A token that key signs later is refused too.
      expect(await status(served.url, await mintIn(served.url))).toEqual({
        status: 403,
        code: 'token_revoked',
      })

      const shared = await serve(['--keys', 'keys.json', '--store-env', 'STORE_URL'], {
        cwd: own,
        env: { STORE_URL: POSTGRES },
      })
      running.push(shared)
      const token = await mintIn(shared.url)
      expect((await status(shared.url, token)).status).toBe(200)
      const direct = await keyhole(['revoke', '--issuer', kid, '--store-env', 'STORE_URL'], {
        env: { STORE_URL: POSTGRES },
      })
      expect(direct.code).toBe(0)
      // Kept for ten years, not for a token lifetime: the key could sign new grants tomorrow.
      const until = /kept until (\d{4})-/.exec(direct.stderr)?.[1]
      expect(Number(until)).toBeGreaterThanOrEqual(new Date().getUTCFullYear() + 9)
      await eventually(async () => (await status(shared.url, token)).code === 'token_revoked')
      // Not a kid: refused (exit 2) instead of "revoking" an id no grant could ever carry.
      const typo = await keyhole(['revoke', '--issuer', 'typo!', '--store-env', 'STORE_URL'], {
        env: { STORE_URL: POSTGRES },
      })
      expect(typo.code).toBe(2)
      expect(typo.stderr).toContain("--issuer takes an issuer key's kid")
      const both = await keyhole(['revoke', 'a-jti', '--issuer', kid, '--store-env', 'STORE_URL'], {
        env: { STORE_URL: POSTGRES },
      })
      expect(both.code).toBe(2)
      expect(both.stderr).toContain('give either a <jti> or --issuer <kid>')
    } finally {
      await cleanup()
    }
  })

  it('writes straight into Postgres with --store, and a running proxy on it refuses the token', async () => {
    const served = await start(['--store', POSTGRES])
    // The URL could hold a password: argv is visible to other users, so serve warns.
    expect(served.output().stderr).toContain('warning: --store puts the store URL')
    const { token, jti, exp } = await mintFor(served.url)
    expect((await status(served.url, token)).status).toBe(200)
    const result = await keyhole([
      'revoke',
      jti,
      '--store',
      POSTGRES,
      '--exp',
      new Date(exp * 1000).toISOString(),
    ])
    expect(result.stderr).toContain(`revoked ${jti}`)
    expect(result.code).toBe(0)
    await eventually(async () => (await status(served.url, token)).code === 'token_revoked')
  })

  it('takes a jti that starts with a dash as the jti, not as an option', async () => {
    const result = await keyhole(['revoke', '-4S8NO4H8XdKc3U2i7kwFw', '--store', REDIS])
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('revoked -4S8NO4H8XdKc3U2i7kwFw')
  })

  it('explains an unreachable store or proxy without showing a password', async () => {
    const redis = await keyhole(['revoke', 'some-jti', '--store', 'redis://:hunter2-secret@127.0.0.1:1'])
    expect(redis.code).toBe(1)
    expect(redis.stderr).toContain('cannot reach the Redis revocation store at redis://:***@127.0.0.1:1')
    expect(redis.stderr).not.toContain('hunter2-secret')
    const pg = await keyhole([
      'revoke',
      'some-jti',
      '--store',
      'postgres://postgres:pg-secret@127.0.0.1:1/test',
    ])
    expect(pg.code).toBe(1)
    expect(pg.stderr).toContain(
      'cannot reach the Postgres revocation store at postgres://postgres:***@127.0.0.1:1/test',
    )
    expect(pg.stderr).not.toContain('pg-secret')
    const closed = await closedPort()
    const proxy = await keyhole(
      ['revoke', 'some-jti', '--url', `http://127.0.0.1:${closed}`, '--admin-token-env', 'A'],
      {
        env: { A: ADMIN },
      },
    )
    expect(proxy.code).toBe(1)
    expect(proxy.stderr).toContain(`cannot reach the proxy at http://127.0.0.1:${closed} (ECONNREFUSED)`)
    expect(proxy.stderr).not.toContain(ADMIN)
    // Something that answers 200 to anything is not a proxy that revoked the token.
    const notKeyhole = await keyhole(
      ['revoke', 'some-jti', '--url', upstream.origin, '--admin-token-env', 'A'],
      {
        env: { A: ADMIN },
      },
    )
    expect(notKeyhole.code).toBe(1)
    expect(notKeyhole.stderr).toContain('without {"revoked":true}')
    expect(notKeyhole.stderr).not.toContain('revoked some-jti')
    expect(notKeyhole.stderr).not.toContain(ADMIN)
  })

  it('serves with /readyz 503 while its store is down at startup, and is ready once the store answers', async () => {
    const port = await closedPort()
    const served = await start(['--store-env', 'STORE'], { STORE: `redis://127.0.0.1:${port}` })
    // Listening came first: the port does not stay closed while Redis's first attempt (up to
    // 5 s of retries) runs; /readyz says 503 meanwhile.
    expect(served.output().stderr).not.toMatch(/serving anyway/)
    expect((await fetch(`${served.url}/readyz`)).status).toBe(503)
    await eventually(
      async () =>
        /cannot reach the Redis revocation store at redis:\/\/127\.0\.0\.1:\d+.*serving anyway/.test(
          served.output().stderr,
        ),
      15_000,
    )
    expect((await fetch(`${served.url}/readyz`)).status).toBe(503)
    expect((await fetch(`${served.url}/healthz`)).status).toBe(200)
    const { token } = await mintFor(served.url)
    expect(await status(served.url, token)).toEqual({ status: 503, code: 'revocation_unavailable' })
    // The store comes up: a throwaway Redis on that very port.
    const redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    try {
      await eventually(async () => (await fetch(`${served.url}/readyz`)).status === 200, 20_000)
      await eventually(async () => (await status(served.url, token)).status === 200, 10_000)
      await eventually(async () => /answers again; ready/.test(served.output().stderr), 10_000)
    } finally {
      redis.kill('SIGKILL')
    }
  }, 60_000)

  it('serves with /readyz 503 while a Postgres store is down at startup, without showing its password', async () => {
    const port = await closedPort()
    const served = await start(['--store-env', 'STORE'], {
      STORE: `postgres://postgres:pg-start-secret@127.0.0.1:${port}/test`,
    })
    await eventually(async () => /serving anyway/.test(served.output().stderr), 15_000)
    expect((await fetch(`${served.url}/readyz`)).status).toBe(503)
    const { token } = await mintFor(served.url)
    expect(await status(served.url, token)).toEqual({ status: 503, code: 'revocation_unavailable' })
    const { stdout, stderr } = served.output()
    expect(stderr).toContain(`postgres://postgres:***@127.0.0.1:${port}/test`)
    expect(`${stdout}${stderr}`).not.toContain('pg-start-secret')
  }, 60_000)

  it('checks its command line (exit 2)', async () => {
    const neither = await keyhole(['revoke', 'abc'])
    expect(neither.code).toBe(2)
    expect(neither.stderr).toContain(
      'give either --url <proxy> (with --admin-token-env) or --store-env <VAR>',
    )
    const both = await keyhole(['revoke', 'abc', '--url', 'http://127.0.0.1:1', '--store', REDIS])
    expect(both.code).toBe(2)
    const noEnv = await keyhole(['revoke', 'abc', '--url', 'http://127.0.0.1:1'])
    expect(noEnv.code).toBe(2)
    expect(noEnv.stderr).toContain('--admin-token-env is required with --url')
    const unset = await keyhole(['revoke', 'abc', '--url', 'http://127.0.0.1:1', '--admin-token-env', 'NOPE'])
    expect(unset.code).toBe(2)
    expect(unset.stderr).toContain('environment variable NOPE is not set')
    // The token itself pasted where its variable's name goes (hex: a valid variable name).
    const pasted = 'a3f9c2e17b5d4e6f8a9b0c1d2e3f4a5b6c7d8e9f'
    const leaked = await keyhole([
      'revoke',
      'abc',
      '--url',
      'http://127.0.0.1:1',
      '--admin-token-env',
      pasted,
    ])
    expect(leaked.code).toBe(2)
    expect(leaked.stderr).toContain('(not shown: as long as an admin token)')
    expect(leaked.stderr).not.toContain(pasted)
    const scheme = await keyhole(['revoke', 'abc', '--store-env', 'BAD_STORE'], {
      env: { BAD_STORE: 'http://127.0.0.1:1' },
    })
    expect(scheme.code).toBe(2)
    // The message names where the URL came from, not a flag that was never given.
    expect(scheme.stderr).toContain('$BAD_STORE (--store-env) must start with redis://')
    const exp = await keyhole(['revoke', 'abc', '--store', REDIS, '--exp', 'tomorrow'])
    expect(exp.code).toBe(2)
    expect(exp.stderr).toContain('--exp must be seconds since the epoch')
    const missing = await keyhole(['revoke', '--store', REDIS])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('give either a <jti> or --issuer <kid>')
    const expired = await keyhole(['revoke', 'abc', '--store', REDIS, '--exp', '1000'])
    expect(expired.code).toBe(0)
    expect(expired.stderr).toContain('already expired')
    const help = await keyhole(['revoke', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain(
      'Usage: keyhole revoke (<jti> | --issuer <kid>) --url <proxy> --admin-token-env <VAR>',
    )
  })
})
