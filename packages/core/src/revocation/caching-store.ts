import { type Duration, toSeconds } from '../duration.js'
import { isKeyholeError, KeyholeError } from '../errors.js'
import { ANSWER_NOW, type AnswersNow } from './answer-now.js'
import { assertJti, expiryMs } from './jti.js'
import type { RevocationFeed, RevocationStore } from './store.js'

/** Options of {@link createCachingStore}. */
export interface CachingStoreOptions {
  /**
   * How long a "revoked" answer is cached. Revocation is permanent until the token expires, so
   * this can be long (an answer outliving the token is harmless: the token is refused as
   * expired). A revocation made through this wrapper's own `revoke()` is cached until the
   * token's expiry whatever this says. Default `'10m'`.
   */
  ttl?: Duration
  /**
   * How long a "not revoked" answer is cached. This is the window in which a revocation made
   * elsewhere can go unnoticed when no feed tells this replica about it (or a feed message was
   * lost while its connection was down). `0` turns negative caching off. Default `'1s'`.
   */
  negativeTtl?: Duration
  /**
   * Where pushed revocations come from (Redis pub/sub, Postgres LISTEN/NOTIFY). Each pushed `jti`
   * is marked revoked at once, without waiting for a TTL. Defaults to the wrapped store when it
   * is itself a {@link RevocationFeed} (the Redis and Postgres stores are); `false` turns it off.
   */
  feed?: RevocationFeed | false
  /** Most answers held; the oldest go first when it is reached. Default `100_000`. */
  maxEntries?: number
}

/** A {@link RevocationStore} that remembers its wrapped store's answers for a short while. */
export interface CachingStore extends RevocationStore {
  /** Synchronous when the answer is cached; a promise when the wrapped store must be asked. */
  isRevoked(jti: string): boolean | Promise<boolean>
  /** Forgets what is cached for `jti`; the next `isRevoked` asks the wrapped store again. */
  invalidate(jti: string): void
  /** Forgets every cached answer. */
  clear(): void
  /** Unsubscribes from the feed and empties the cache. Does not close the wrapped store, which is yours. */
  close(): void
  /** Answers held. */
  readonly size: number
  /** `hits`: answered from the cache; `misses`: lookups sent to the wrapped store (shared ones count once). */
  readonly stats: { readonly hits: number; readonly misses: number }
}

interface Entry {
  readonly revoked: boolean
  readonly until: number
}

const isFeed = (value: unknown): value is RevocationFeed =>
  typeof value === 'object' && value !== null && typeof (value as RevocationFeed).onRevoked === 'function'

// Whatever a wrapped store throws leaves as a KeyholeError, so callers branch on one type.
const toKeyholeError = (err: unknown): KeyholeError =>
  isKeyholeError(err)
    ? err
    : new KeyholeError('revocation_unavailable', 'the revocation store failed to answer', { cause: err })

/**
 * Wraps a revocation store with a small cache, so checking revocation on every request costs
 * a `Map` lookup instead of a round trip. Use it in front of Redis or Postgres.
 *
 * - "Revoked" answers are cached for `ttl`, "not revoked" ones for `negativeTtl` (short).
 * - `revoke()` marks the id revoked here at once, then writes through to the wrapped store
 *   (a failed write leaves the local mark in place and rejects).
 * - A feed (by default the wrapped store, when it has one) marks ids revoked as soon as any
 *   replica revokes them, so revocation does not wait for `negativeTtl`.
 * - Concurrent misses for one id share a single lookup; errors are never cached and always
 *   reject with a `KeyholeError` (`revocation_unavailable` unless the store said otherwise).
 *
 * @example
 * ```ts
 * const shared = createRedisStore({ url: process.env.REDIS_URL })
 * const revocations = createCachingStore(shared, { negativeTtl: '1s' }) // subscribes to shared's feed
 * const opener = createOpener({ keyring, revocations })
 * ```
 */
export function createCachingStore(store: RevocationStore, options: CachingStoreOptions = {}): CachingStore {
  const ttlMs = toSeconds(options.ttl ?? '10m') * 1000
  const negativeTtlMs = toSeconds(options.negativeTtl ?? '1s') * 1000
  const maxEntries = options.maxEntries ?? 100_000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new KeyholeError('bad_request', 'maxEntries must be a positive integer')
  }

  const cache = new Map<string, Entry>()
  const inflight = new Map<string, Promise<boolean>>()
  let hits = 0
  let misses = 0

  const remember = (jti: string, revoked: boolean, until: number): void => {
    // Re-inserting moves the entry to the back, so eviction takes the oldest answer first.
    cache.delete(jti)
    if (until <= Date.now()) return
    cache.set(jti, { revoked, until })
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string)
  }

  const isMarkedRevoked = (jti: string): boolean => {
    const entry = cache.get(jti)
    return entry?.revoked === true && entry.until > Date.now()
  }

  const lookup = (jti: string): Promise<boolean> => {
    let answer: Promise<boolean>
    try {
      answer = Promise.resolve(store.isRevoked(jti))
    } catch (err) {
      return Promise.reject(toKeyholeError(err))
    }
    const shared: Promise<boolean> = answer.then(
      (value) => {
        const revoked = value === true
        // An invalidate() or a pushed revocation while we waited replaced or removed this
        // lookup: its answer may predate the change, so it is returned but not cached.
        const current = inflight.get(jti) === shared
        if (current) inflight.delete(jti)
        if (!revoked && isMarkedRevoked(jti)) return true
        if (current) remember(jti, revoked, Date.now() + (revoked ? ttlMs : negativeTtlMs))
        return revoked
      },
      (err: unknown) => {
        if (inflight.get(jti) === shared) inflight.delete(jti)
        throw toKeyholeError(err)
      },
    )
    inflight.set(jti, shared)
    return shared
  }

  const markRevoked = (jti: string, until: number): void => {
    inflight.delete(jti)
    remember(jti, true, until)
  }

  const feed = options.feed === undefined ? (isFeed(store) ? store : undefined) : options.feed || undefined
  const unsubscribe = feed?.onRevoked((jti) => {
    if (typeof jti === 'string' && jti.length > 0) markRevoked(jti, Date.now() + ttlMs)
  })

  // The cached answer for `jti` (counted as a hit), or undefined when there is none still fresh.
  const cached = (jti: string): boolean | undefined => {
    const entry = cache.get(jti)
    if (entry === undefined) return undefined
    if (entry.until <= Date.now()) {
      cache.delete(jti)
      return undefined
    }
    hits++
    return entry.revoked
  }

  const caching: CachingStore & AnswersNow = {
    isRevoked(jti) {
      const known = cached(jti)
      if (known !== undefined) return known
      const pending = inflight.get(jti)
      if (pending !== undefined) return pending
      misses++
      return lookup(jti)
    },

    [ANSWER_NOW]: cached,

    async revoke(jti, expiresAt) {
      assertJti(jti)
      const expires = expiryMs(expiresAt)
      // Refuse here at once, even before the shared store has the write, and keep refusing if
      // the write fails: a failed revoke must never make this replica more permissive. Held
      // until the token's expiry; after that the wrapped store (and its grace period) decides.
      markRevoked(jti, expires)
      try {
        await store.revoke(jti, expiresAt)
      } catch (err) {
        throw toKeyholeError(err)
      }
    },

    invalidate(jti) {
      cache.delete(jti)
      inflight.delete(jti)
    },

    clear() {
      cache.clear()
      inflight.clear()
    },

    close() {
      unsubscribe?.()
      cache.clear()
      inflight.clear()
    },

    get size() {
      return cache.size
    },

    get stats() {
      return { hits, misses }
    },
  }
  return caching
}
