import { isKeyholeError } from '@keyhole/core'
import { createPostgresReplayCache, type PostgresReplayCache, replayMigrationSql } from '@keyhole/postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, dropTables, PG_URL, sleep, uniqueNames } from './helpers.js'

const { table } = uniqueNames('replay')
const pools: pg.Pool[] = []
const caches: PostgresReplayCache[] = []
const connect = (url = PG_URL) => {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 1_000 })
  pools.push(pool)
  return pool
}
const pool = connect()
const make = (on = pool, timeout = '5s') => {
  const cache = createPostgresReplayCache(on, { table, timeout, sweepInterval: false })
  caches.push(cache)
  return cache
}
const inMs = (ms: number) => new Date(Date.now() + ms)
const code = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (err: unknown) => (isKeyholeError(err) ? err.code : `not a KeyholeError: ${String(err)}`),
  )

beforeAll(async () => {
  // replicas starting together all migrate
  await Promise.all([make().migrate(), make().migrate(), make().migrate()])
})
afterAll(async () => {
  await Promise.all(caches.map((cache) => cache.close()))
  await dropTables(table)
  await Promise.all(pools.map((p) => p.end()))
})

describe('createPostgresReplayCache', () => {
  it('claims an id once, then refuses it until it expires', async () => {
    const cache = make()
    expect(await cache.claim('jkt:once', inMs(60_000))).toBe(true)
    expect(await cache.claim('jkt:once', inMs(60_000))).toBe(false)
    expect(await cache.claim('jkt:other', inMs(60_000))).toBe(true)
  })

  it('lets an expired id be claimed again, by the database clock, swept or not', async () => {
    const cache = make()
    expect(await cache.claim('jkt:short', inMs(200))).toBe(true)
    expect(await cache.claim('jkt:short', inMs(200))).toBe(false)
    await sleep(350)
    expect(await cache.claim('jkt:short', inMs(60_000))).toBe(true)
    expect(await cache.claim('jkt:short', inMs(60_000))).toBe(false)
    const row = await pool.query(`SELECT expires_at FROM "${table}" WHERE id = $1`, ['jkt:short'])
    // the taken-over row carries the new expiry
    expect(new Date(row.rows[0].expires_at).getTime()).toBeGreaterThan(Date.now() + 50_000)
  })

  it('gives exactly one of 50 concurrent claims of one id, across five replicas', async () => {
    const replicas = Array.from({ length: 5 }, () => make(connect()))
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (replicas[i % 5] as PostgresReplayCache).claim('jkt:race', inMs(60_000)),
      ),
    )
    expect(answers.filter(Boolean)).toHaveLength(1)
  })

  it('gives exactly one of 50 concurrent claims of an expired id', async () => {
    const cache = make()
    await cache.claim('jkt:stale-race', inMs(-1_000))
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => cache.claim('jkt:stale-race', inMs(60_000))),
    )
    expect(answers.filter(Boolean)).toHaveLength(1)
  })

  it('keeps ids exact, NUL and backslashes included: no two distinct ids share a row', async () => {
    const cache = make()
    const ids = ['a:b', 'a:B', 'e\u0301', '\u00e9', "'; drop table x; --", 'n\0l', 'n\\0l', 'n\\\\0l', '$1']
    for (const id of ids) expect(await cache.claim(id, inMs(60_000))).toBe(true)
    for (const id of ids) expect(await cache.claim(id, inMs(60_000))).toBe(false)
  })

  it('sweep() deletes expired rows only', async () => {
    const cache = make()
    await cache.claim('jkt:gone-1', inMs(-1_000))
    await cache.claim('jkt:gone-2', inMs(-1_000))
    await cache.claim('jkt:kept', inMs(60_000))
    expect(await cache.sweep()).toBeGreaterThanOrEqual(2)
    const left = await pool.query(`SELECT id FROM "${table}" WHERE id LIKE 'jkt:gone-%' OR id = 'jkt:kept'`)
    expect(left.rows.map((r) => r.id)).toEqual(['jkt:kept'])
  })

  it('sweeps by itself every sweepInterval', async () => {
    const cache = createPostgresReplayCache(pool, { table, sweepInterval: '100ms' })
    caches.push(cache)
    await cache.claim('jkt:auto', inMs(-1_000))
    await sleep(400)
    const left = await pool.query(`SELECT 1 FROM "${table}" WHERE id = 'jkt:auto'`)
    expect(left.rowCount).toBe(0)
  })

  it('refuses a malformed id or expiry as bad_request', async () => {
    const cache = make()
    expect(await code(cache.claim('', inMs(1000)))).toBe('bad_request')
    expect(await code(cache.claim('jkt:x', new Date(Number.NaN)))).toBe('bad_request')
  })

  it('fails closed when Postgres is down or the table is missing', async () => {
    const port = await closedPort()
    const down = make(connect(`postgres://postgres@127.0.0.1:${port}/test`), '500ms')
    expect(await code(down.claim('jkt:down', inMs(60_000)))).toBe('revocation_unavailable')
    const missing = createPostgresReplayCache(pool, { table: `${table}_missing`, sweepInterval: false })
    caches.push(missing)
    const error = await missing.claim('jkt:x', inMs(60_000)).catch((e: unknown) => e)
    expect(isKeyholeError(error, 'revocation_unavailable')).toBe(true)
    expect((error as Error).message).toContain('42P01')
  })

  it('replayMigrationSql() is what migrate() runs, for any table name', () => {
    expect(replayMigrationSql({ table: 'auth.keyhole_proofs' })).toContain(
      'CREATE TABLE IF NOT EXISTS "auth"."keyhole_proofs"',
    )
    expect(() => replayMigrationSql({ table: 'bad-name' })).toThrow()
  })
})
