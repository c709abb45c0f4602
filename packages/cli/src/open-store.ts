import type { RevocationStore } from '@keyhole/core'
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
 * Opens the Redis or Postgres revocation store a URL names. A Postgres store's table is created
 * if it does not exist (`migrate()`), so a wrong Postgres URL fails here; call `ready()` to wait
 * for Redis.
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
  options: { onError?: (message: string) => void } = {},
): Promise<OpenedStore> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw usageError('--store must be a URL: redis://host:6379 or postgres://user@host:5432/db')
  }
  const display = displayUrl(parsed)
  const report = options.onError
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
    const { createRedisStore } = await import('@keyhole/redis')
    const store = createRedisStore({ url, ...(onError ? { onError } : {}) })
    return {
      store,
      display,
      ready: () => store.ready('5s').catch((error) => Promise.reject(unreachable('Redis', error))),
      close: () => store.close(),
    }
  }
  if (parsed.protocol === 'postgres:' || parsed.protocol === 'postgresql:') {
    const { createPostgresStore } = await import('@keyhole/postgres')
    const store = createPostgresStore({ url, ...(onError ? { onError } : {}) })
    try {
      await store.migrate()
    } catch (error) {
      await store.close().catch(() => {})
      throw unreachable('Postgres', error)
    }
    return {
      store,
      display,
      ready: () => store.ready('5s').catch((error) => Promise.reject(unreachable('Postgres', error))),
      close: () => store.close(),
    }
  }
  throw usageError('--store must start with redis://, rediss://, postgres:// or postgresql://')
}
