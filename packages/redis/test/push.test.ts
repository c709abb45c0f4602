import { createCachingStore } from '@keyhole/core'
import { createRedisStore, type RedisStore } from '@keyhole/redis'
import { afterAll, describe, expect, it } from 'vitest'
import { deletePrefix, percentile, uniqueNames } from './helpers.js'

// Two stores, two sets of connections: what two proxy replicas sharing one Redis have.
const names = uniqueNames('push')
// generous timeouts: these tests are about delivery, not latency under a loaded CI machine
const a = createRedisStore({ ...names, timeout: '5s' })
const b = createRedisStore({ ...names, timeout: '5s' })
const stores: RedisStore[] = [a, b]

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
  await deletePrefix(names.prefix)
})

describe('Redis push between replicas', () => {
  it("a revoke on A reaches B's feed listener", async () => {
    const seen: string[] = []
    const off = b.onRevoked((jti) => seen.push(jti))
    await Promise.all([a.ready(), b.ready()])
    const jti = `push-${Date.now()}`
    const arrived = new Promise<number>((resolve) => {
      const stop = b.onRevoked((id) => {
        if (id === jti) {
          stop()
          resolve(performance.now())
        }
      })
    })
    const started = performance.now()
    await a.revoke(jti, new Date(Date.now() + 60_000))
    const at = await arrived
    console.log(`[redis] revoke on A -> B's listener: ${(at - started).toFixed(2)} ms`)
    expect(seen).toContain(jti)
    off()
  })

  it("B's caching wrapper reports a revocation made on A without waiting for its negative TTL", async () => {
    // an hour of negative caching: only the push can make B see the revocation in this test
    const cachedB = createCachingStore(b, { negativeTtl: '1h' })
    await b.ready()
    const trials = 50
    const times: number[] = []
    for (let i = 0; i < trials; i++) {
      const jti = `cached-${i}-${Date.now()}`
      expect(await cachedB.isRevoked(jti)).toBe(false) // now cached as "not revoked"
      const started = performance.now()
      await a.revoke(jti, new Date(Date.now() + 60_000))
      while (!(await cachedB.isRevoked(jti))) await new Promise((resolve) => setImmediate(resolve))
      times.push(performance.now() - started)
    }
    console.log(
      `[redis] revoke on A -> B's cache says revoked, ${trials} trials: p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms`,
    )
    // every one of them arrived by push: B asked Redis once per jti, for the first (negative) answer
    expect(cachedB.stats.misses).toBe(trials)
    cachedB.close()
  })

  it('an unsubscribed listener hears nothing more', async () => {
    const seen: string[] = []
    const off = b.onRevoked((jti) => seen.push(jti))
    await b.ready()
    off()
    const marker: string[] = []
    const stop = b.onRevoked((jti) => marker.push(jti))
    await a.revoke('after-off', new Date(Date.now() + 60_000))
    while (!marker.includes('after-off')) await new Promise((resolve) => setTimeout(resolve, 5))
    stop()
    expect(seen).not.toContain('after-off')
  })
})
