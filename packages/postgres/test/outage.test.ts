import { createCachingStore, isKeyholeError, type KeyholeError } from '@keyhole/core'
import { createPostgresStore, type PostgresStore } from '@keyhole/postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTcpProxy, dropTables, PG_URL, sleep, uniqueNames } from './helpers.js'

// Postgres reached through a TCP proxy that the test cuts and restores: an outage without
// stopping the shared server.
const names = uniqueNames('outage')
let proxy: Awaited<ReturnType<typeof createTcpProxy>>
const stores: PostgresStore[] = []
const uncaught: unknown[] = []
const onUncaught = (err: unknown) => uncaught.push(err)

beforeAll(async () => {
  process.on('uncaughtException', onUncaught)
  process.on('unhandledRejection', onUncaught)
  proxy = await createTcpProxy()
  const direct = createPostgresStore({ ...names, url: PG_URL, timeout: '5s' })
  await direct.migrate()
  await direct.close()
})
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
  await proxy.close()
  await dropTables(names.table)
  process.off('uncaughtException', onUncaught)
  process.off('unhandledRejection', onUncaught)
})

const code = (answer: unknown) =>
  Promise.resolve(answer).then(
    () => 'ok',
    (err: unknown) => (isKeyholeError(err) ? err.code : `not a KeyholeError: ${String(err)}`),
  )

async function until(check: () => Promise<boolean>, limitMs = 20_000): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < limitMs) {
    if (await check().catch(() => false)) return performance.now() - started
    await sleep(25)
  }
  throw new Error('condition never held')
}

describe('Postgres outage', () => {
  it('fails closed while Postgres is unreachable and recovers by itself, LISTEN included', async () => {
    const errors: KeyholeError[] = []
    const store = createPostgresStore({
      ...names,
      url: proxy.url,
      timeout: '300ms',
      onError: (e) => errors.push(e),
    })
    stores.push(store)
    // the writer reaches Postgres directly, so only the watcher sees the outage
    const writer = createPostgresStore({ ...names, url: PG_URL, timeout: '5s' })
    stores.push(writer)
    const cached = createCachingStore(store, { negativeTtl: '1h' })
    const heard: string[] = []
    store.onRevoked((jti) => heard.push(jti))
    await store.ready()
    await writer.revoke('before', new Date(Date.now() + 60_000))
    await until(async () => heard.includes('before'))

    await proxy.cut()
    const started = performance.now()
    expect(await code(store.isRevoked('during'))).toBe('revocation_unavailable')
    console.log(
      `[postgres] proxy cut: isRevoked rejected after ${(performance.now() - started).toFixed(0)} ms`,
    )
    expect(await code(cached.isRevoked('during'))).toBe('revocation_unavailable')
    expect(await code(store.revoke('during', new Date(Date.now() + 60_000)))).toBe('revocation_unavailable')
    const burst = await Promise.all(Array.from({ length: 200 }, () => code(store.isRevoked('burst'))))
    expect(new Set(burst)).toEqual(new Set(['revocation_unavailable']))
    await sleep(500)
    expect(errors.length).toBeGreaterThan(0)

    await proxy.restore()
    const recovered = await until(async () => (await store.isRevoked('after')) === false)
    console.log(`[postgres] proxy restored: same store answered again after ${recovered.toFixed(0)} ms`)
    // LISTEN came back by itself: a revocation made elsewhere is pushed to this replica again
    const relisten = await until(async () => {
      await writer.revoke('after', new Date(Date.now() + 60_000))
      return heard.includes('after')
    })
    console.log(
      `[postgres] proxy restored: LISTEN delivering again after ${(recovered + relisten).toFixed(0)} ms`,
    )
    expect(await cached.isRevoked('after')).toBe(true)
    cached.close()
    expect(uncaught).toEqual([])
  })

  it('a server that hangs: calls time out, outstanding queries are capped, then it recovers', async () => {
    // a pool of the user's with no connection timeout: only the store's own deadline and cap
    // stand between a hung server and an ever-growing queue
    const pool = new pg.Pool({ connectionString: proxy.url, max: 2 })
    const store = createPostgresStore({ ...names, pool, timeout: '200ms', maxPending: 5 })
    stores.push(store)
    await store.ready()
    await proxy.stall()
    await sleep(200) // let the pool notice its idle connection was reset
    const first = await Promise.all(
      Array.from({ length: 5 }, (_, i) => store.isRevoked(`hung-${i}`).catch((e) => e)),
    )
    for (const err of first) expect(isKeyholeError(err, 'revocation_unavailable')).toBe(true)
    // those five are still waiting inside the pool: the next call is refused without joining them
    const refused = (await store.isRevoked('hung').catch((e) => e)) as KeyholeError
    expect(isKeyholeError(refused, 'revocation_unavailable')).toBe(true)
    expect(refused.message).toMatch(/unanswered queries/)
    await proxy.restore()
    await until(async () => (await store.isRevoked('hung')) === false)
    await store.close()
    await pool.end()
    expect(uncaught).toEqual([])
  })

  it('a store created during the outage starts working once Postgres is reachable', async () => {
    await proxy.cut()
    const store = createPostgresStore({ ...names, url: proxy.url, timeout: '300ms' })
    stores.push(store)
    store.onRevoked(() => undefined)
    expect(await code(store.isRevoked('early'))).toBe('revocation_unavailable')
    await proxy.restore()
    await until(async () => (await store.isRevoked('early')) === false)
    await store.ready()
    expect(uncaught).toEqual([])
  })
})
