// The revocation store down and back, end to end through the proxies: the shared Redis and
// Postgres stores reached through a TCP relay this file cuts (the shared servers keep running),
// and a throwaway redis-server this file kills and restarts. While the store cannot answer, every
// proxy fails closed with 503 revocation_unavailable and contacts no upstream; when it is back,
// valid tokens pass and revoked ones are still refused — with no restart, no crash, and memory
// back at its baseline after repeated outages.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCachingStore, createOpener, type Opener, type RevocationStore } from '@keyhole/core'
import { createPostgresStore } from '@keyhole/postgres'
import { createRedisStore } from '@keyhole/redis'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testIssuers } from '../../packages/core/test/kit/issuer.js'
import { send } from '../adversarial/harness/client.js'
import { PROXY_KINDS, type RunningProxy, startProxy } from '../adversarial/harness/proxies.js'
import { leaks, observe } from '../adversarial/harness/secrets.js'
import { type Keys, type Minted, makeKeys, mintFor } from '../adversarial/harness/tokens.js'
import { type Recorder, startRecorder } from '../adversarial/harness/upstream.js'
import { collectGarbage } from '../load/mixed-load.js'
import { freePort, type Relay, startRelay } from './relay.js'

const MB = 1024 * 1024
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test'
const id = `${process.pid}_${Date.now().toString(36)}`
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let keys: Keys
let upstream: Recorder
let valid: Minted
let revoked: Minted
let revokedJti: string
let revokedExp: Date

beforeAll(async () => {
  keys = await makeKeys()
  upstream = await startRecorder({ name: 'granted' })
  valid = await mintFor(keys.key, { hosts: [upstream.origin] })
  revoked = await mintFor(keys.key, { hosts: [upstream.origin] })
  const grant = await createOpener({ keyring: keys.keyring, issuers: testIssuers }).open(revoked.token)
  revokedJti = grant.jti
  revokedExp = new Date(grant.exp * 1000)
})
afterAll(async () => {
  await upstream.close()
  expect(leaks()).toEqual([])
})

interface Rig {
  proxies: RunningProxy[]
  close(): Promise<void>
}

async function rig(opener: Opener): Promise<Rig> {
  const proxies: RunningProxy[] = []
  for (const kind of PROXY_KINDS) proxies.push(await startProxy(kind, { opener }))
  return {
    proxies,
    close: async () => {
      for (const proxy of proxies) await proxy.close()
    },
  }
}

async function outcome(proxy: RunningProxy, minted: Minted): Promise<string> {
  const reply = await send(`${proxy.base}/http/127.0.0.1:${upstream.port}/x`, {
    headers: [['x-keyhole-token', minted.token]],
  })
  return reply.code ?? String(reply.status)
}

/** Every proxy's answer for the valid and the revoked token, e.g. `['200', 'token_revoked']` per proxy. */
async function answers(r: Rig): Promise<string[][]> {
  return Promise.all(r.proxies.map(async (p) => [await outcome(p, valid), await outcome(p, revoked)]))
}

async function until(check: () => Promise<boolean>, limitMs = 20_000): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < limitMs) {
    if (await check().catch(() => false)) return Date.now() - started
    await sleep(100)
  }
  throw new Error('the condition never held')
}

const HEALTHY = PROXY_KINDS.map(() => ['200', 'token_revoked'])
const FAILED_CLOSED = PROXY_KINDS.map(() => ['revocation_unavailable', 'revocation_unavailable'])

/**
 * The outage drill shared by the stores: healthy, cut (fail closed, no upstream contact), restored
 * (healthy again, the revocation kept), then `cycles` more cuts with traffic, measuring memory.
 */
async function drill(label: string, store: RevocationStore, relay: Relay, cycles: number): Promise<void> {
  const opener = createOpener({
    keyring: keys.keyring,
    issuers: testIssuers,
    revocations: store,
    revocationTimeout: '1s',
  })
  const r = await rig(opener)
  try {
    await store.revoke(revokedJti, revokedExp)
    expect(await answers(r)).toEqual(HEALTHY)

    await relay.down()
    const hitsBefore = upstream.hits.length
    const started = Date.now()
    expect(await answers(r)).toEqual(FAILED_CLOSED)
    const failMs = Date.now() - started
    expect(upstream.hits.length).toBe(hitsBefore)

    await relay.up()
    const recoverMs = await until(async () => JSON.stringify(await answers(r)) === JSON.stringify(HEALTHY))
    console.log(
      `[faults] ${label}: store cut -> 503 on all proxies (${failMs} ms for 6 requests); restored -> healthy after ${recoverMs} ms`,
    )

    collectGarbage()
    const baseline = process.memoryUsage().heapUsed
    for (let i = 0; i < cycles; i++) {
      await relay.down()
      const during = await Promise.all(
        Array.from({ length: 30 }, (_, n) => outcome(r.proxies[n % 3]!, valid)),
      )
      expect(new Set(during)).toEqual(new Set(['revocation_unavailable']))
      await relay.up()
      await until(async () => JSON.stringify(await answers(r)) === JSON.stringify(HEALTHY))
    }
    collectGarbage()
    const grew = (process.memoryUsage().heapUsed - baseline) / MB
    console.log(
      `[faults] ${label}: ${cycles} more outages with traffic: heap after GC ${grew >= 0 ? '+' : ''}${grew.toFixed(1)} MB`,
    )
    expect(grew).toBeLessThan(16)
    for (const proxy of r.proxies) for (const event of proxy.events) expect(event.status).not.toBe(500)
  } finally {
    await r.close()
  }
}

describe('Redis store through a relay', () => {
  let relay: Relay
  beforeAll(async () => {
    relay = await startRelay(6379)
  })
  afterAll(() => relay.close())

  it('fails closed while cut, recovers by itself, keeps the revocation', async () => {
    const store = createRedisStore({
      url: `redis://127.0.0.1:${relay.port}`,
      prefix: `kh_faults_${id}:`,
      channel: `kh_faults_${id}`,
      timeout: '300ms',
      onError: (error) => observe('redis:onError', error),
    })
    try {
      await store.ready()
      await drill('redis via relay', store, relay, 5)
    } finally {
      await store.close()
    }
  }, 180_000)

  it('behind a caching store, a known revocation is still refused while Redis is cut', async () => {
    const shared = createRedisStore({
      url: `redis://127.0.0.1:${relay.port}`,
      prefix: `kh_faults_cache_${id}:`,
      channel: `kh_faults_cache_${id}`,
      timeout: '300ms',
      onError: (error) => observe('redis:onError', error),
    })
    await shared.ready()
    const cached = createCachingStore(shared, { negativeTtl: '200ms' })
    const r = await rig(
      createOpener({
        keyring: keys.keyring,
        issuers: testIssuers,
        revocations: cached,
        revocationTimeout: '1s',
      }),
    )
    try {
      await cached.revoke(revokedJti, revokedExp)
      expect(await answers(r)).toEqual(HEALTHY)
      await relay.down()
      await sleep(300) // past negativeTtl: "not revoked" answers must be asked for again
      const during = await answers(r)
      for (const [forValid, forRevoked] of during) {
        expect(forValid).toBe('revocation_unavailable')
        expect(forRevoked).toBe('token_revoked')
      }
      await relay.up()
      await until(async () => JSON.stringify(await answers(r)) === JSON.stringify(HEALTHY))
    } finally {
      await r.close()
      await shared.close()
    }
  }, 60_000)

  it('failOpen is the operator’s explicit choice: valid tokens pass while the store is cut', async () => {
    const store = createRedisStore({
      url: `redis://127.0.0.1:${relay.port}`,
      prefix: `kh_faults_open_${id}:`,
      channel: `kh_faults_open_${id}`,
      timeout: '300ms',
      onError: (error) => observe('redis:onError', error),
    })
    await store.ready()
    const r = await rig(
      createOpener({ keyring: keys.keyring, issuers: testIssuers, revocations: store, failOpen: true }),
    )
    try {
      await relay.down()
      for (const proxy of r.proxies) expect(await outcome(proxy, valid)).toBe('200')
      await relay.up()
    } finally {
      await r.close()
      await store.close()
    }
  }, 60_000)
})

describe('a throwaway redis-server killed and restarted', () => {
  let dir: string
  let port: number
  let server: ChildProcess | undefined

  async function startServer(): Promise<ChildProcess> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    )
    await until(
      () =>
        new Promise<boolean>((resolve) => {
          const socket = connect(port, '127.0.0.1')
          socket.once('connect', () => {
            socket.destroy()
            resolve(true)
          })
          socket.once('error', () => resolve(false))
        }),
      10_000,
    )
    return child
  }

  function kill(child: ChildProcess): Promise<void> {
    return new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGKILL')
    })
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyhole-faults-redis-'))
    port = await freePort()
    server = await startServer()
  })
  afterAll(async () => {
    if (server) await kill(server)
    await rm(dir, { recursive: true, force: true })
  })

  it('503 while the server is dead; after a restart the revocation (persisted) still holds', async () => {
    const store = createRedisStore({
      url: `redis://127.0.0.1:${port}`,
      timeout: '300ms',
      onError: (error) => observe('redis:onError', error),
    })
    await store.ready()
    const r = await rig(
      createOpener({
        keyring: keys.keyring,
        issuers: testIssuers,
        revocations: store,
        revocationTimeout: '1s',
      }),
    )
    try {
      await store.revoke(revokedJti, revokedExp)
      expect(await answers(r)).toEqual(HEALTHY)
      await kill(server!)
      expect(await answers(r)).toEqual(FAILED_CLOSED)
      server = await startServer()
      const ms = await until(async () => JSON.stringify(await answers(r)) === JSON.stringify(HEALTHY))
      console.log(
        `[faults] redis-server killed (SIGKILL) and restarted: healthy again ${ms} ms after the restart`,
      )
    } finally {
      await r.close()
      await store.close()
    }
  }, 60_000)
})

describe('Postgres store through a relay', () => {
  let relay: Relay
  const table = `kh_faults_${id}`

  beforeAll(async () => {
    relay = await startRelay(5432)
  })
  afterAll(async () => {
    await relay.close()
    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    await client.query(`DROP TABLE IF EXISTS "${table}"`)
    await client.end()
  })

  it('fails closed while cut, recovers by itself, keeps the revocation', async () => {
    const store = createPostgresStore({
      url: `postgres://postgres@127.0.0.1:${relay.port}/test`,
      table,
      channel: table,
      timeout: '500ms',
      sweepInterval: false,
      onError: (error) => observe('postgres:onError', error),
    })
    try {
      await store.migrate()
      await store.ready()
      await drill('postgres via relay', store, relay, 5)
    } finally {
      await store.close()
    }
  }, 180_000)
})
