import { createCachingStore } from '@keyhole/core'
import { createPostgresStore } from '@keyhole/postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropTables, PG_URL, percentile, uniqueNames } from './helpers.js'

// Two stores, each with its own pool and LISTEN connection: two replicas sharing one database.
const names = uniqueNames('push')
// generous timeouts: these tests are about delivery, not latency under a loaded CI machine
const a = createPostgresStore({ ...names, url: PG_URL, timeout: '5s' })
const b = createPostgresStore({ ...names, url: PG_URL, timeout: '5s' })

beforeAll(async () => {
  await a.migrate()
})
afterAll(async () => {
  await Promise.all([a.close(), b.close()])
  await dropTables(names.table)
})

describe('Postgres push between replicas', () => {
  it("a revoke on A reaches B's feed listener", async () => {
    const jti = `push-${Date.now()}`
    const arrived = new Promise<number>((resolve) => {
      const stop = b.onRevoked((id) => {
        if (id === jti) {
          stop()
          resolve(performance.now())
        }
      })
    })
    await b.ready()
    const started = performance.now()
    await a.revoke(jti, new Date(Date.now() + 60_000))
    const at = await arrived
    console.log(`[postgres] revoke on A -> B's listener: ${(at - started).toFixed(2)} ms`)
    expect(at).toBeGreaterThan(started)
  })

  it("B's caching wrapper reports a revocation made on A without waiting for its negative TTL", async () => {
    const cachedB = createCachingStore(b, { negativeTtl: '1h' })
    await b.ready()
    const trials = 50
    const times: number[] = []
    for (let i = 0; i < trials; i++) {
      const jti = `cached-${i}-${Date.now()}`
      expect(await cachedB.isRevoked(jti)).toBe(false)
      const started = performance.now()
      await a.revoke(jti, new Date(Date.now() + 60_000))
      while (!(await cachedB.isRevoked(jti))) await new Promise((resolve) => setTimeout(resolve, 0))
      times.push(performance.now() - started)
    }
    console.log(
      `[postgres] revoke on A -> B's cache says revoked, ${trials} trials: p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms`,
    )
    expect(cachedB.stats.misses).toBe(trials)
    cachedB.close()
  })

  it('a revocation of an already-expired token is neither stored nor announced', async () => {
    const heard: string[] = []
    const stop = b.onRevoked((jti) => heard.push(jti))
    await b.ready()
    await a.revoke('expired-long-ago', new Date(Date.now() - 3_600_000))
    await a.revoke('marker', new Date(Date.now() + 60_000))
    while (!heard.includes('marker')) await new Promise((resolve) => setTimeout(resolve, 5))
    stop()
    expect(heard).not.toContain('expired-long-ago')
    expect(await a.isRevoked('expired-long-ago')).toBe(false)
  })
})
