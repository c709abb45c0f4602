import type { ReplayCache, RevocationStore } from '@keyhole/core'
import { CliError, usageError } from './cli-error.js'

/** A shared revocation store opened from a URL. */
export interface OpenedStore {
  readonly store: RevocationStore
  /** The URL with any password masked, for messages and logs. */
  readonly display: string
  /**
   * Resolves once the store answers and its push feed (if anyone subscribed) is active;
   * rejects with a message naming the store otherwise.
   */
  ready(): Promise<void>
  /**
   * The proof replay cache in the same store, shared by every replica (made on first call, on the
   * store's own connection; a Postgres table is created if it does not exist). `keyhole serve`
   * uses it; `keyhole revoke` never asks, so it creates nothing.
   */
  replayCache(): Promise<ReplayCache>
  /** Closes the store, the replay cache and their connection. */
  close(): Promise<void>
}

/**
 * The store URL as it may be shown: user name kept, password masked, query dropped (it may hold
 * options such as `password=`).
 *
 * @example
 * ```ts
 * displayUrl(new URL('redis://:hunter2@redis.internal:6379/0')) // 'redis://:***@redis.internal:6379/0'
 * ```
 */
export function displayUrl(url: URL): string {
  const auth = url.username || url.password ? `${url.username}${url.password ? ':***' : ''}@` : ''
  return `${url.protocol}//${auth}${url.host}${url.pathname === '/' ? '' : url.pathname}`
}

/**
 * Opens the Redis or Postgres revocation store a URL names, without waiting for it: `ready()`
 * resolves once it answers (for Postgres, once its table exists, created if missing) and rejects
 * with a message a person can act on when it does not within a few seconds; call it again to
 * keep waiting.
 *
 * @example
 * ```ts
 * const opened = await openStore('redis://127.0.0.1:6379')
 * await opened.ready()
 * await opened.store.revoke(jti, new Date(exp * 1000))
 * await opened.close()
 * ```
 */
export async function openStore(
  url: string,
  options: { onError?: (message: string) => void; source?: string } = {},
): Promise<OpenedStore> {
  // Where the URL came from, as the person typed it: `--store`, or `$VAR` of --store-env.
  const source = options.source ?? '--store'
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw usageError(`${source} must be a URL: redis://host:6379 or postgres://user@host:5432/db`)
  }
  const display = displayUrl(parsed)
  const report = options.onError && onceInAWhile(options.onError)
  const onError = report
    ? (error: Error) => report(`revocation store ${display}: ${error.message}`)
    : undefined
  const unreachable = (what: string, error: unknown) =>
    new CliError(
      `cannot reach the ${what} revocation store at ${display}; is it running, and is the URL right?`,
      undefined,
      {
        cause: error,
      },
    )

  if (parsed.protocol === 'redis:' || parsed.protocol === 'rediss:') {
    // Loaded only here: the Redis and Postgres clients are large, and a proxy without a shared
    // store (or with the other one) never needs them.
    const { createRedisReplayCache, createRedisStore } = await import('@keyhole/redis')
    const { Redis } = await import('ioredis')
    // One connection answers revocation checks and proof claims; the store's pub/sub subscriber
    // is a duplicate of it. Fail fast, as the store's own connections do: nothing is queued
    // while Redis is away, so nothing is replayed when it returns.
    const client = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
    })
    // Only the error's code: a message could name the host, and a person reads this line.
    client.on('error', (error: NodeJS.ErrnoException) =>
      report?.(`revocation store ${display}: Redis connection error${errorCode(error)}`),
    )
    const store = createRedisStore({ client, ...(onError ? { onError } : {}) })
    let replay: ReturnType<typeof createRedisReplayCache> | undefined
    return {
      store,
      display,
      ready: () => store.ready('5s').catch((error) => Promise.reject(unreachable('Redis', error))),
      replayCache: async () => {
        replay ??= createRedisReplayCache(client)
        return replay
      },
      close: async () => {
        replay?.close()
        await store.close()
        client.disconnect()
      },
    }
  }
  if (parsed.protocol === 'postgres:' || parsed.protocol === 'postgresql:') {
    const { createPostgresReplayCache, createPostgresStore } = await import('@keyhole/postgres')
    const { default: pg } = await import('pg')
    // One pool for revocation checks and proof claims (the settings the store gives its own).
    const pool = new pg.Pool({
      connectionString: url,
      max: 10,
      connectionTimeoutMillis: 500,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
    })
    pool.on('error', (error: NodeJS.ErrnoException) =>
      report?.(`revocation store ${display}: Postgres idle connection error${errorCode(error)}`),
    )
    const store = createPostgresStore({ pool, ...(onError ? { onError } : {}) })
    let replay: Promise<ReturnType<typeof createPostgresReplayCache>> | undefined
    const closeAll = async () => {
      await replay?.then((cache) => cache.close()).catch(() => {})
      await store.close()
      await pool.end().catch(() => {})
    }
    return {
      store,
      display,
      // The table is created (if missing) as part of being ready, so a database that is down at
      // start is waited for like one that goes away later.
      ready: () =>
        store
          .migrate()
          .then(() => store.ready('5s'))
          .catch((error) => Promise.reject(unreachable('Postgres', error))),
      replayCache: () => {
        replay ??= (async () => {
          const cache = createPostgresReplayCache(pool, { ...(onError ? { onError } : {}) })
          try {
            await cache.migrate()
          } catch (error) {
            await cache.close()
            replay = undefined
            throw unreachable('Postgres', error)
          }
          return cache
        })()
        return replay
      },
      close: closeAll,
    }
  }
  throw usageError(`${source} must start with redis://, rediss://, postgres:// or postgresql://`)
}

// A system error code (ECONNREFUSED) says what went wrong without quoting anything.
function errorCode(error: NodeJS.ErrnoException | undefined): string {
  const code = error?.code
  return typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code) ? ` (${code})` : ''
}

/** How long the same store error line stays quiet after it was printed. */
const REPEAT_QUIET_MS = 30_000

/**
 * `report`, printing a given line at most once per {@link REPEAT_QUIET_MS}: a store that is down
 * makes its client fail every reconnect attempt, and one line says as much as twenty.
 */
function onceInAWhile(report: (message: string) => void): (message: string) => void {
  const last = new Map<string, number>()
  return (message) => {
    const now = Date.now()
    const at = last.get(message)
    if (at !== undefined && now - at < REPEAT_QUIET_MS) return
    last.set(message, now)
    report(message)
  }
}
