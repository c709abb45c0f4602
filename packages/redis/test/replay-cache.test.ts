import { isKeyholeError } from '@keyhole/core'
import { createRedisReplayCache, type RedisReplayCache } from '@keyhole/redis'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { closedPort, deletePrefix, REDIS_URL, sleep, uniqueNames } from './helpers.js'

const { prefix } = uniqueNames('replay')
const failFast = { enableOfflineQueue: false, maxRetriesPerRequest: 0 }
const clients: Redis[] = []
const caches: RedisReplayCache[] = []
const connect = (url = REDIS_URL) => {
  const client = new Redis(url, failFast)
  client.on('error', () => undefined)
  clients.push(client)
  return client
}
const make = (client = connect(), timeout = '5s') => {
  const cache = createRedisReplayCache(client, { prefix, timeout })
  caches.push(cache)
  return cache
}
const inMs = (ms: number) => new Date(Date.now() + ms)
const code = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (err: unknown) => (isKeyholeError(err) ? err.code : `not a KeyholeError: ${String(err)}`),
  )

afterAll(async () => {
  for (const cache of caches) cache.close()
  await deletePrefix(prefix)
  for (const client of clients) client.disconnect()
})

describe('createRedisReplayCache', () => {
  it('claims an id once, then refuses it until it expires', async () => {
    const cache = make()
    expect(await cache.claim('jkt:once', inMs(60_000))).toBe(true)
    expect(await cache.claim('jkt:once', inMs(60_000))).toBe(false)
    expect(await cache.claim('jkt:other', inMs(60_000))).toBe(true)
  })

  it('keeps one key per id that Redis expires at expiresAt', async () => {
    const cache = make()
    await cache.claim('jkt:pttl', inMs(30_000))
    const raw = new Redis(REDIS_URL)
    clients.push(raw)
    const pttl = await raw.pttl(`${prefix}jkt:pttl`)
    expect(pttl).toBeGreaterThan(25_000)
    expect(pttl).toBeLessThanOrEqual(30_000)
  })

  it('lets an expired id be claimed again', async () => {
    const cache = make()
    expect(await cache.claim('jkt:short', inMs(200))).toBe(true)
    expect(await cache.claim('jkt:short', inMs(200))).toBe(false)
    await sleep(350)
    expect(await cache.claim('jkt:short', inMs(60_000))).toBe(true)
    expect(await cache.claim('jkt:short', inMs(60_000))).toBe(false)
  })

  it('gives exactly one of 50 concurrent claims of one id, across five replicas', async () => {
    const replicas = Array.from({ length: 5 }, () => make())
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (replicas[i % 5] as RedisReplayCache).claim('jkt:race', inMs(60_000)),
      ),
    )
    expect(answers.filter(Boolean)).toHaveLength(1)
  })

  it('keeps ids exact: no two distinct ids share an entry', async () => {
    const cache = make()
    const ids = ['a:b', 'a:B', 'a:b ', 'e\u0301', '\u00e9', '日本:🔑', "it's", '*?[ab]', 'x'.repeat(1100)]
    for (const id of ids) expect(await cache.claim(id, inMs(60_000))).toBe(true)
    for (const id of ids) expect(await cache.claim(id, inMs(60_000))).toBe(false)
  })

  it('refuses a malformed id or expiry as bad_request, before asking Redis', async () => {
    const cache = make()
    expect(await code(cache.claim('', inMs(1000)))).toBe('bad_request')
    expect(await code(cache.claim('jkt:x', new Date(Number.NaN)))).toBe('bad_request')
  })

  it('fails closed when Redis is down: the claim rejects with revocation_unavailable in time', async () => {
    const port = await closedPort()
    const cache = make(connect(`redis://127.0.0.1:${port}`), '300ms')
    const started = performance.now()
    expect(await code(cache.claim('jkt:down', inMs(60_000)))).toBe('revocation_unavailable')
    expect(performance.now() - started).toBeLessThan(2_000)
  })
})
