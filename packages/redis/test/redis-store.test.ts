import { inspect } from 'node:util'
import { isKeyholeError, type KeyholeError } from '@keyhole/core'
import { createRedisStore, type RedisStore } from '@keyhole/redis'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { closedPort, deletePrefix, REDIS_URL, sleep, uniqueNames } from './helpers.js'

const names = uniqueNames('store')
const raw = new Redis(REDIS_URL)
const stores: RedisStore[] = []
const make = (options: Parameters<typeof createRedisStore>[0] = {}) => {
  const store = createRedisStore({ ...names, timeout: '5s', ...options })
  stores.push(store)
  return store
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
})
afterAll(async () => {
  await deletePrefix(names.prefix)
  raw.disconnect()
})

describe('createRedisStore', () => {
  it('keeps one key per jti that Redis expires at the token expiry plus grace', async () => {
    const store = make({ grace: '10s' })
    const expires = new Date(Date.now() + 60_000)
    await store.revoke('pttl', expires)
    const pttl = await raw.pttl(`${names.prefix}pttl`)
    // expiry lands within the 70 s the store asked for (the exact value moves with the clock)
    expect(pttl).toBeGreaterThan(60_000)
    expect(pttl).toBeLessThanOrEqual(70_000)
    expect(await raw.get(`${names.prefix}pttl`)).toBe('1')
  })

  it('lets Redis drop an expired revocation by itself', async () => {
    const store = make({ grace: 0 })
    await store.revoke('short', new Date(Date.now() + 300))
    expect(await raw.exists(`${names.prefix}short`)).toBe(1)
    expect(await raw.pttl(`${names.prefix}short`)).toBeLessThanOrEqual(300)
    await sleep(450)
    expect(await raw.exists(`${names.prefix}short`)).toBe(0)
    expect(await store.isRevoked('short')).toBe(false)
  })

  it('never shortens an existing expiry, nor touches a key without one', async () => {
    const store = make({ grace: 0 })
    await store.revoke('long', new Date(Date.now() + 60_000))
    await store.revoke('long', new Date(Date.now() + 1_000))
    expect(await raw.pttl(`${names.prefix}long`)).toBeGreaterThan(50_000)
    await raw.set(`${names.prefix}forever`, '1')
    await store.revoke('forever', new Date(Date.now() + 1_000))
    expect(await raw.pttl(`${names.prefix}forever`)).toBe(-1)
  })

  it('writes nothing for a token already past expiry plus grace', async () => {
    const store = make({ grace: '1s' })
    await store.revoke('past', new Date(Date.now() - 5_000))
    expect(await raw.exists(`${names.prefix}past`)).toBe(0)
  })

  it('uses a client passed in and leaves it open on close()', async () => {
    const client = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0 })
    try {
      const store = createRedisStore({ ...names, client })
      await store.revoke('own-client', new Date(Date.now() + 60_000))
      expect(await store.isRevoked('own-client')).toBe(true)
      await store.close()
      expect(await client.ping()).toBe('PONG')
      expect(
        isKeyholeError(await store.isRevoked('own-client').catch((e) => e), 'revocation_unavailable'),
      ).toBe(true)
    } finally {
      client.disconnect()
    }
  })

  it('waits for the first connection instead of failing calls made right after creation', async () => {
    const store = make()
    // no ready(): the connection is still being made
    expect(await store.isRevoked('fresh')).toBe(false)
  })

  it('fails closed with revocation_unavailable when Redis is unreachable, and never leaks the password', async () => {
    const port = await closedPort()
    const errors: KeyholeError[] = []
    const store = make({
      url: `redis://:s3cret-pass@127.0.0.1:${port}`,
      timeout: '200ms',
      onError: (err) => errors.push(err),
    })
    const started = performance.now()
    const results = await Promise.allSettled([
      store.isRevoked('x'),
      store.revoke('x', new Date(Date.now() + 60_000)),
      store.ready('300ms'),
    ])
    console.log(
      `[redis] closed port: isRevoked/revoke rejected after ${(performance.now() - started).toFixed(0)} ms`,
    )
    for (const result of results) {
      expect(result.status).toBe('rejected')
      expect(isKeyholeError((result as PromiseRejectedResult).reason, 'revocation_unavailable')).toBe(true)
    }
    // the subscriber connection fails too, without an unhandled 'error'
    store.onRevoked(() => undefined)
    await sleep(300)
    expect(errors.length).toBeGreaterThan(0)
    const everything = inspect([results, errors], { depth: 10, showHidden: true })
    expect(everything).not.toContain('s3cret-pass')
  })

  it('rejects calls after close()', async () => {
    const store = make()
    await store.close()
    expect(isKeyholeError(await store.isRevoked('x').catch((e) => e), 'revocation_unavailable')).toBe(true)
    await store.close() // twice is fine
  })
})
