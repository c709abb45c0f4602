import { inspect } from 'node:util'
import { isKeyholeError, type KeyholeError } from '@keyhole/core'
import { createPostgresStore, migrationSql, type PostgresStore } from '@keyhole/postgres'
import pg from 'pg'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { closedPort, dropTables, PG_URL, sleep, uniqueNames } from './helpers.js'

const names = uniqueNames('store')
const pool = new pg.Pool({ connectionString: PG_URL, max: 4 })
const stores: PostgresStore[] = []
const tables: string[] = [names.table]
const make = (options: Parameters<typeof createPostgresStore>[0] = {}) => {
  const store = createPostgresStore({ ...names, pool, timeout: '5s', ...options })
  stores.push(store)
  return store
}
const code = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (err: unknown) => (isKeyholeError(err) ? err.code : `not a KeyholeError: ${String(err)}`),
  )

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
})
afterAll(async () => {
  await dropTables(...tables)
  await pool.end()
})

describe('createPostgresStore', () => {
  it('migrate() creates the table and index, and is safe to run concurrently and repeatedly', async () => {
    const store = make()
    await Promise.all([store.migrate(), make().migrate(), make().migrate()])
    await store.migrate()
    const columns = await pool.query(
      `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
       WHERE table_name = $1 ORDER BY ordinal_position`,
      [names.table],
    )
    expect(columns.rows.map((r) => [r.column_name, r.data_type, r.is_nullable])).toEqual([
      ['jti', 'text', 'NO'],
      ['expires_at', 'timestamp with time zone', 'NO'],
      ['revoked_at', 'timestamp with time zone', 'NO'],
    ])
    const indexes = await pool.query('SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1', [
      names.table,
    ])
    expect(indexes.rows.map((r) => r.indexdef).join('\n')).toMatch(/\(expires_at\)/)
    expect(indexes.rows.some((r) => /UNIQUE.*\(jti\)/.test(r.indexdef))).toBe(true)
  })

  it('stores the token expiry, keeps the first revocation time, keeps the later expiry', async () => {
    const store = make()
    await store.migrate()
    const soon = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000)
    const later = new Date(soon.getTime() + 60_000)
    await store.revoke('row', later)
    const first = await pool.query(`SELECT expires_at, revoked_at FROM "${names.table}" WHERE jti = 'row'`)
    await store.revoke('row', soon)
    const second = await pool.query(`SELECT expires_at, revoked_at FROM "${names.table}" WHERE jti = 'row'`)
    expect(second.rows[0].expires_at.getTime()).toBe(later.getTime())
    expect(second.rows[0].revoked_at.getTime()).toBe(first.rows[0].revoked_at.getTime())
  })

  it('sweep() deletes expired rows only, after the grace period', async () => {
    const store = make({ grace: '2s' })
    await store.migrate()
    await store.sweep()
    // rows written directly: expired long ago, expired inside grace, not expired
    await pool.query(
      `INSERT INTO "${names.table}" (jti, expires_at) VALUES
        ('gone', now() - interval '1 hour'), ('in-grace', now() - interval '1 second'), ('live', now() + interval '1 hour')`,
    )
    expect(await store.isRevoked('gone')).toBe(false) // not counted even before the sweep
    expect(await store.isRevoked('in-grace')).toBe(true)
    expect(await store.sweep()).toBe(1)
    const left = await pool.query(
      `SELECT jti FROM "${names.table}" WHERE jti IN ('gone', 'in-grace', 'live') ORDER BY jti`,
    )
    expect(left.rows.map((r) => r.jti)).toEqual(['in-grace', 'live'])
    await sleep(2_100)
    expect(await store.isRevoked('in-grace')).toBe(false)
    expect(await store.sweep()).toBe(1)
  })

  it('sweep() works through more rows than one batch', async () => {
    const table = uniqueNames('sweep_batches').table
    tables.push(table)
    const store = make({ table, grace: 0 })
    await store.migrate()
    await pool.query(
      `INSERT INTO "${table}" (jti, expires_at) SELECT 'old-' || i, now() - interval '1 minute' FROM generate_series(1, 25000) i`,
    )
    await store.revoke('keep', new Date(Date.now() + 60_000))
    expect(await store.sweep()).toBe(25_000)
    expect(await store.isRevoked('keep')).toBe(true)
  })

  it('sweeps in the background every sweepInterval', async () => {
    const table = uniqueNames('sweep_timer').table
    tables.push(table)
    const store = make({ table, grace: 0, sweepInterval: '200ms' })
    await store.migrate()
    await pool.query(`INSERT INTO "${table}" (jti, expires_at) VALUES ('old', now() - interval '1 minute')`)
    for (let i = 0; i < 50; i++) {
      const { rowCount } = await pool.query(`SELECT 1 FROM "${table}"`)
      if (rowCount === 0) return
      await sleep(100)
    }
    throw new Error('the background sweep never ran')
  })

  it('validates table and channel names as identifiers, and quotes them', async () => {
    for (const table of [
      'x; drop table users',
      'a"b',
      '1abc',
      'a.b.c',
      '',
      'a-b',
      `x${'y'.repeat(48)}`,
      'ünïcode',
    ]) {
      expect(() => createPostgresStore({ pool, table }), table).toThrow(/table|schema/)
    }
    for (const channel of ['x; select 1', 'a"b', '', 'a b']) {
      expect(() => createPostgresStore({ pool, channel }), channel).toThrow(/channel/)
    }
    // mixed case survives thanks to quoting, in a schema-qualified name too
    const table = `public.KhMixed_${names.table.slice(-6)}`
    tables.push(table)
    const store = make({ table, channel: `KhChannel_${names.channel.slice(-6)}` })
    await store.migrate()
    await store.revoke('mixed', new Date(Date.now() + 60_000))
    expect(await store.isRevoked('mixed')).toBe(true)
    expect(migrationSql({ table })).toContain(`"public"."KhMixed_`)
  })

  it('says what is wrong (SQLSTATE) when the table does not exist, as revocation_unavailable', async () => {
    const store = make({ table: 'kh_test_never_migrated' })
    const err = (await store.isRevoked('x').catch((e) => e)) as KeyholeError
    expect(isKeyholeError(err, 'revocation_unavailable')).toBe(true)
    expect(err.message).toContain('42P01')
  })

  it('fails closed on a closed port, within the timeout, without leaking the password', async () => {
    const port = await closedPort()
    const errors: KeyholeError[] = []
    const store = createPostgresStore({
      ...names,
      url: `postgres://postgres:s3cret-pass@127.0.0.1:${port}/test`,
      timeout: '200ms',
      onError: (err) => errors.push(err),
    })
    stores.push(store)
    store.onRevoked(() => undefined) // the LISTEN connection fails and retries in the background
    const started = performance.now()
    const results = await Promise.all([
      code(store.isRevoked('x')),
      code(store.revoke('x', new Date(Date.now() + 60_000))),
      code(store.sweep()),
      code(store.migrate()),
      code(store.ready('300ms')),
    ])
    console.log(`[postgres] closed port: calls rejected after ${(performance.now() - started).toFixed(0)} ms`)
    expect(results).toEqual(Array(5).fill('revocation_unavailable'))
    await sleep(300)
    expect(errors.length).toBeGreaterThan(0)
    const everything = inspect([results, errors], { depth: 10, showHidden: true })
    expect(everything).not.toContain('s3cret-pass')
  })

  it('uses a pool passed in and leaves it open on close(); rejects calls after close()', async () => {
    const store = make()
    await store.migrate()
    await store.close()
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    expect(await code(store.isRevoked('x'))).toBe('revocation_unavailable')
    await store.close()
  })

  it("adds an 'error' listener to a pool that has none, so a dropped idle connection cannot crash the process", async () => {
    const bare = new pg.Pool({ connectionString: PG_URL, max: 1 })
    try {
      expect(bare.listenerCount('error')).toBe(0)
      const store = createPostgresStore({ ...names, pool: bare })
      stores.push(store)
      expect(bare.listenerCount('error')).toBe(1)
      await store.migrate()
      expect(await store.isRevoked('idle')).toBe(false)
      // kill the idle connection from the server side: the pool emits 'error'
      const { rows } = await pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '' AND pid <> pg_backend_pid()
         AND query LIKE '%${names.table}%' AND state = 'idle'`,
      )
      expect(rows.length).toBeGreaterThan(0)
      await sleep(200)
      expect(await store.isRevoked('idle')).toBe(false) // a fresh connection answers
    } finally {
      await bare.end()
    }
  })
})
