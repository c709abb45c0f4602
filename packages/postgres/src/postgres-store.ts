import {
  assertJti,
  type Duration,
  expiryMs,
  type KeyholeError,
  type RevocationFeed,
  type RevocationStore,
  toSeconds,
} from '@keyhole/core'
import pg from 'pg'
import { createDeadline, unavailable } from './deadline.js'
import { channelName, migrationSql, statements, tableNames } from './sql.js'
import { statementTag } from './statement-tag.js'

/** Options of {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * A `pg` Pool to run queries on. It stays yours: `close()` leaves it open. If it has no
   * `'error'` listener the store adds one, because an idle client losing its connection would
   * otherwise crash the process.
   */
  pool?: pg.Pool
  /**
   * Where Postgres is, e.g. `postgres://keyhole@db.internal:5432/app`, when no `pool` is given.
   * Default: pg's own defaults (the `PGHOST`, `PGUSER`, `PGDATABASE`... environment variables).
   */
  url?: string
  /** The table, optionally schema-qualified (`auth.keyhole_revocations`). Default `'keyhole_revocations'`. */
  table?: string
  /** The LISTEN/NOTIFY channel revocations are announced on. Default `'keyhole_revocations'`. */
  channel?: string
  /** Longest `isRevoked`/`revoke` may take before rejecting with `revocation_unavailable`. Default `'500ms'`. */
  timeout?: Duration
  /**
   * How long a revocation still counts after the token's expiry, because openers accept a token
   * for their `clockTolerance` past `exp` and clocks differ between machines. Default `'60s'`.
   */
  grace?: Duration
  /** How often expired rows are deleted in the background; `false` leaves it to you (`sweep()`). Default `'1h'`. */
  sweepInterval?: Duration | false
  /** Outstanding queries at which further calls fail at once instead of queueing. Default `1000`. */
  maxPending?: number
  /** Told about connection and background-sweep problems. Never thrown as unhandled 'error' events. Default: ignore. */
  onError?: (error: KeyholeError) => void
}

/** A {@link RevocationStore} on Postgres that is also a {@link RevocationFeed} (LISTEN/NOTIFY). */
export interface PostgresStore extends RevocationStore, RevocationFeed {
  /** Always a promise here (a `RevocationStore` may also answer synchronously). */
  isRevoked(jti: string): Promise<boolean>
  /** Creates the table and its index if they do not exist (safe to run from many replicas at once). */
  migrate(): Promise<void>
  /** Deletes revocations past their expiry plus grace; returns how many rows went. */
  sweep(): Promise<number>
  /**
   * Resolves once a query succeeds and, if anyone listens to the feed, LISTEN is active.
   * Rejects with `revocation_unavailable` after `timeout` (default `'5s'`).
   */
  ready(timeout?: Duration): Promise<void>
  /** Stops listening and sweeping, and ends the store's own pool (not a `pool` you passed in). */
  close(): Promise<void>
}

// Migrations and sweeps may take longer than a lookup, but never for ever.
const SLOW_MS = 30_000
const SWEEP_BATCH = 10_000

/**
 * Creates a revocation store in your own Postgres, shared by every proxy replica pointed at it.
 *
 * One row per revoked `jti` (primary key) with the token's `expires_at`; `isRevoked` counts only
 * rows that have not expired (plus `grace`); `sweep()` deletes the rest, and runs by itself every
 * `sweepInterval`. `revoke` upserts, keeping the later expiry, and sends `NOTIFY channel, jti` in
 * the same statement; `onRevoked` LISTENs on a dedicated connection that reconnects with backoff,
 * so a caching wrapper on every replica learns of a revocation at once
 * (`createCachingStore(store)` subscribes by itself).
 *
 * Fails closed: every call settles within `timeout`, rejecting with `revocation_unavailable` while
 * Postgres cannot answer; the pool reconnects on the next call. SQL takes values only as
 * parameters; table and channel names are validated identifiers, always quoted.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { createCachingStore, createOpener } from '@keyhole/core'
 * import { createPostgresStore } from '@keyhole/postgres'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * const shared = createPostgresStore({ pool })
 * await shared.migrate()
 * const opener = createOpener({ keyring, revocations: createCachingStore(shared) })
 * ```
 */
export function createPostgresStore(options: PostgresStoreOptions = {}): PostgresStore {
  const names = tableNames(options.table ?? 'keyhole_revocations')
  const channel = options.channel ?? 'keyhole_revocations'
  const listenSql = `LISTEN ${channelName(channel)}`
  const sql = statements(names)
  const timeoutMs = toSeconds(options.timeout ?? '500ms') * 1000
  const graceSeconds = toSeconds(options.grace ?? '60s')
  const sweepMs = options.sweepInterval === false ? 0 : toSeconds(options.sweepInterval ?? '1h') * 1000
  const deadline = createDeadline(timeoutMs, options.maxPending ?? 1000)
  const tag = statementTag(`${names.table}|${channel}`)

  const report = (message: string) => (err: unknown) => {
    try {
      options.onError?.(unavailable(message, err))
    } catch {
      // a throwing error hook must not become an unhandled 'error' event
    }
  }

  const ownPool = options.pool === undefined
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.url,
      max: 10,
      connectionTimeoutMillis: Math.max(timeoutMs, 1),
      idleTimeoutMillis: 30_000,
      keepAlive: true,
    })
  if (ownPool || pool.listenerCount('error') === 0) pool.on('error', report('Postgres idle connection error'))

  // query_timeout: pg gives up on the query and the pool discards its connection, so a
  // connection that stopped answering is not handed out again.
  const query = (name: string, text: string, values: unknown[], ms = timeoutMs) =>
    deadline.run(
      () =>
        pool.query({
          name: `keyhole_${name}_${tag}`,
          text,
          values,
          query_timeout: ms,
        } as pg.QueryConfig),
      ms,
    )

  let closed = false
  const checkOpen = () => {
    if (closed) throw unavailable('the Postgres revocation store is closed')
  }

  // --- LISTEN connection, made when the first listener subscribes -------------------------
  const listeners = new Set<(jti: string) => void>()
  let listener: pg.Client | undefined
  let listening = false
  let attempt = 0
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined
  let whenListening: Promise<void> | undefined
  let markListening: () => void = () => undefined
  const resetListening = () => {
    listening = false
    whenListening = new Promise((resolve) => {
      markListening = resolve
    })
  }
  resetListening()

  const clientConfig = (): pg.ClientConfig => {
    // A dedicated connection with the pool's settings, outside the pool: a pooled client held
    // for LISTEN would shrink the pool (and deadlock one of size 1).
    const base = ownPool
      ? { connectionString: options.url }
      : (pool as unknown as { options: pg.ClientConfig }).options
    return { ...base, keepAlive: true, connectionTimeoutMillis: Math.max(timeoutMs, 2_000) }
  }

  const dropListener = (client: pg.Client) => {
    if (listener !== client) return
    listener = undefined
    if (listening) resetListening()
    client.end().catch(() => undefined)
    if (closed) return
    // back off 100 ms, 200 ms, ... up to 5 s between attempts
    const delay = Math.min(100 * 2 ** Math.min(attempt++, 6), 5_000)
    reconnectTimer = setTimeout(connectListener, delay)
    reconnectTimer.unref()
  }

  const connectListener = () => {
    reconnectTimer = undefined
    if (closed || listener) return
    const client = new pg.Client(clientConfig())
    listener = client
    client.on('error', (err) => {
      report('Postgres LISTEN connection error')(err)
      dropListener(client)
    })
    client.on('end', () => dropListener(client))
    client.on('notification', (message) => {
      if (message.channel !== channel || typeof message.payload !== 'string') return
      for (const listen of listeners) {
        try {
          listen(message.payload)
        } catch (err) {
          report('a revocation listener threw')(err)
        }
      }
    })
    client
      .connect()
      .then(() => client.query(listenSql))
      .then(
        () => {
          if (listener !== client) return
          attempt = 0
          listening = true
          markListening()
        },
        (err: unknown) => {
          report('Postgres LISTEN failed')(err)
          dropListener(client)
        },
      )
  }

  // --- background sweep -------------------------------------------------------------------
  let sweepTimer: ReturnType<typeof setInterval> | undefined

  const sweep = async (): Promise<number> => {
    checkOpen()
    let total = 0
    for (;;) {
      const result = await query(
        'sweep',
        sql.sweep,
        [graceSeconds, SWEEP_BATCH],
        Math.max(timeoutMs, SLOW_MS),
      )
      total += result.rowCount ?? 0
      if ((result.rowCount ?? 0) < SWEEP_BATCH) return total
    }
  }

  if (sweepMs > 0) {
    sweepTimer = setInterval(() => {
      sweep().catch(report('background sweep failed'))
    }, sweepMs)
    sweepTimer.unref()
  }

  return {
    async isRevoked(jti) {
      assertJti(jti)
      checkOpen()
      const result = await query('is_revoked', sql.isRevoked, [jti, graceSeconds])
      return (result.rowCount ?? 0) > 0
    },

    async revoke(jti, expiresAt) {
      assertJti(jti)
      const expires = new Date(expiryMs(expiresAt))
      checkOpen()
      await query('revoke', sql.revoke, [jti, expires, channel, graceSeconds])
    },

    onRevoked(listen) {
      listeners.add(listen)
      if (!closed && !listener && !reconnectTimer) connectListener()
      return () => {
        listeners.delete(listen)
      }
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
            await client.query(migrationSql({ table: names.raw }))
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

    async ready(timeout = '5s') {
      checkOpen()
      const ms = toSeconds(timeout) * 1000
      const started = Date.now()
      let timer: ReturnType<typeof setTimeout> | undefined
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(unavailable(`Postgres was not ready within ${ms} ms`)), ms)
      })
      const up = async () => {
        for (;;) {
          try {
            await query('ping', 'SELECT 1', [], Math.max(1, ms - (Date.now() - started)))
            break
          } catch {
            if (Date.now() - started >= ms) return
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
        }
        if (listeners.size > 0) await whenListening
      }
      try {
        await Promise.race([up(), expired])
      } finally {
        clearTimeout(timer)
      }
    },

    async close() {
      if (closed) return
      closed = true
      listeners.clear()
      if (sweepTimer) clearInterval(sweepTimer)
      if (reconnectTimer) clearTimeout(reconnectTimer)
      const client = listener
      listener = undefined
      const ending: Promise<unknown>[] = []
      if (client) ending.push(client.end().catch(() => undefined))
      if (ownPool) ending.push(pool.end().catch(() => undefined))
      await Promise.all(ending)
    },
  }
}
