import { type Duration, KeyholeError, type ReplayCache, toSeconds } from '@keyhole/core'
import type pg from 'pg'
import { createDeadline, unavailable } from './deadline.js'
import { DEFAULT_REPLAY_TABLE, replayMigrationSql, replayStatements } from './replay-sql.js'
import { tableNames } from './sql.js'
import { statementTag } from './statement-tag.js'

/** Options of {@link createPostgresReplayCache}. */
export interface PostgresReplayCacheOptions {
  /** The table, optionally schema-qualified (`auth.keyhole_proofs`). Default `'keyhole_proofs'`. */
  table?: string
  /** Longest a claim may take before rejecting with `revocation_unavailable`. Default `'500ms'`. */
  timeout?: Duration
  /**
   * How often expired rows are deleted in the background; `false` leaves it to you (`sweep()`).
   * Default `'1m'`: entries live about two minutes, so rows would otherwise pile up at request rate.
   */
  sweepInterval?: Duration | false
  /** Outstanding queries at which further claims fail at once instead of queueing. Default `1000`. */
  maxPending?: number
  /** Told about background-sweep and idle-connection problems. Never thrown as unhandled 'error' events. Default: ignore. */
  onError?: (error: KeyholeError) => void
}

/** A {@link ReplayCache} in Postgres, shared by every replica that uses the same table. */
export interface PostgresReplayCache extends ReplayCache {
  /** Creates the table and its index if they do not exist (safe to run from many replicas at once). */
  migrate(): Promise<void>
  /** Deletes expired entries; returns how many rows went. */
  sweep(): Promise<number>
  /** Stops the background sweep. The pool stays open: it is yours. */
  close(): Promise<void>
}

// Migrations and sweeps may take longer than a claim, but never for ever.
const SLOW_MS = 30_000
const SWEEP_BATCH = 10_000

// A text column cannot hold NUL. Proof ids come from the client, so NUL is escaped rather than
// refused, one-to-one: every backslash is doubled too, so a distinct id never maps onto another.
function storable(id: string): string {
  return /[\\\0]/.test(id) ? id.replace(/[\\\0]/g, (c) => (c === '\\' ? '\\\\' : '\\0')) : id
}

/**
 * Creates a proof-of-possession replay cache in your own Postgres, so that a `Keyhole-Proof`
 * accepted by one proxy replica is refused by every other one.
 *
 * One row per claimed id (primary key) with its `expires_at`. A claim is one atomic
 * `INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE expires_at <= now() RETURNING 1`: a new id, or
 * one whose entry expired by the database clock, is claimed (`true`); a live one is not
 * (`false`); of any number of concurrent claims of one id, exactly one wins. `sweep()` deletes
 * expired rows, and runs by itself every `sweepInterval`. Run `migrate()` once first (or the SQL
 * of `replayMigrationSql()` with your own migrations).
 *
 * Fails closed: a claim rejects with `revocation_unavailable` (the proxy answers 503) within
 * `timeout` while Postgres cannot answer. SQL takes values only as parameters; the table name is
 * a validated identifier, always quoted.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { createProxy } from '@keyhole/core'
 * import { createPostgresReplayCache } from '@keyhole/postgres'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * const replayCache = createPostgresReplayCache(pool)
 * await replayCache.migrate()
 * const proxy = createProxy({ opener, replayCache })
 * ```
 */
export function createPostgresReplayCache(
  pool: pg.Pool,
  options: PostgresReplayCacheOptions = {},
): PostgresReplayCache {
  if (typeof pool?.query !== 'function' || typeof pool.connect !== 'function') {
    throw new KeyholeError('bad_request', 'createPostgresReplayCache needs a pg.Pool')
  }
  const names = tableNames(options.table ?? DEFAULT_REPLAY_TABLE)
  const sql = replayStatements(names)
  const timeoutMs = toSeconds(options.timeout ?? '500ms') * 1000
  const sweepMs = options.sweepInterval === false ? 0 : toSeconds(options.sweepInterval ?? '1m') * 1000
  const deadline = createDeadline(timeoutMs, options.maxPending ?? 1000)
  const tag = statementTag(`replay|${names.table}`)

  const report = (message: string) => (err: unknown) => {
    try {
      options.onError?.(unavailable(message, err))
    } catch {
      // a throwing error hook must not become an unhandled 'error' event
    }
  }
  // node-postgres crashes the process when an idle pooled connection drops and nobody listens.
  if (pool.listenerCount('error') === 0) pool.on('error', report('Postgres idle connection error'))

  // query_timeout: pg gives up on the query and the pool discards its connection, so a
  // connection that stopped answering is not handed out again.
  const query = (name: string, text: string, values: unknown[], ms = timeoutMs) =>
    deadline.run(
      () => pool.query({ name: `keyhole_${name}_${tag}`, text, values, query_timeout: ms } as pg.QueryConfig),
      ms,
    )

  let closed = false
  const checkOpen = () => {
    if (closed) throw unavailable('the Postgres replay cache is closed')
  }

  const sweep = async (): Promise<number> => {
    checkOpen()
    let total = 0
    for (;;) {
      const result = await query('replay_sweep', sql.sweep, [SWEEP_BATCH], Math.max(timeoutMs, SLOW_MS))
      total += result.rowCount ?? 0
      if ((result.rowCount ?? 0) < SWEEP_BATCH) return total
    }
  }

  let sweepTimer: ReturnType<typeof setInterval> | undefined
  if (sweepMs > 0) {
    sweepTimer = setInterval(() => {
      sweep().catch(report('background sweep of the replay cache failed'))
    }, sweepMs)
    sweepTimer.unref()
  }

  return {
    async claim(id, expiresAt) {
      if (typeof id !== 'string' || id.length === 0)
        throw new KeyholeError('bad_request', 'a proof id is a non-empty string')
      if (!(expiresAt instanceof Date) || !Number.isFinite(expiresAt.getTime()))
        throw new KeyholeError('bad_request', 'expiresAt must be a valid Date')
      checkOpen()
      const result = await query('claim', sql.claim, [storable(id), expiresAt])
      return (result.rowCount ?? 0) > 0
    },

    async migrate() {
      checkOpen()
      await deadline.run(
        async () => {
          const client = await pool.connect()
          let failed: unknown
          try {
            await client.query('BEGIN')
            // replicas starting together would otherwise race on CREATE TABLE IF NOT EXISTS
            await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
              `keyhole migrate ${names.table}`,
            ])
            await client.query(replayMigrationSql({ table: names.raw }))
            await client.query('COMMIT')
          } catch (err) {
            failed = err
            await client.query('ROLLBACK').catch(() => undefined)
            throw err
          } finally {
            client.release(failed instanceof Error ? failed : undefined)
          }
        },
        Math.max(timeoutMs, SLOW_MS),
      )
    },

    sweep,

    async close() {
      closed = true
      if (sweepTimer) clearInterval(sweepTimer)
    },
  }
}
