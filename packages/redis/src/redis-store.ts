import {
  assertJti,
  type Duration,
  expiryMs,
  KeyholeError,
  type RevocationFeed,
  type RevocationStore,
  toSeconds,
} from '@keyhole/core'
import { Redis, type RedisOptions } from 'ioredis'
import { createGate, unavailable } from './bounded.js'

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** Where Redis is, e.g. `redis://:password@redis.internal:6379/0`. Default `redis://127.0.0.1:6379`. Ignored with `client`. */
  url?: string
  /**
   * An ioredis client to use instead of connecting to `url`. It stays yours: `close()` leaves it
   * open. Give it `enableOfflineQueue: false` and `maxRetriesPerRequest: 0` so nothing it queues
   * outlives the store's timeout (the store's own connections are made that way).
   */
  client?: Redis
  /** Prefix of the key kept per revoked `jti`. Default `'keyhole:revoked:'`. */
  prefix?: string
  /** Pub/sub channel on which revocations are announced to every replica. Default `'keyhole:revocations'`. */
  channel?: string
  /** Longest any call may take before it rejects with `revocation_unavailable`. Default `'500ms'`. */
  timeout?: Duration
  /**
   * How long a revocation is kept after the token's expiry, because openers accept a token for
   * their `clockTolerance` past `exp` and clocks differ between machines. Default `'60s'`.
   */
  grace?: Duration
  /** Unanswered commands at which further calls fail at once instead of queueing. Default `1000`. */
  maxPending?: number
  /**
   * Told about connection problems (they also surface as `revocation_unavailable` on calls).
   * The store never lets them escape as unhandled 'error' events. Default: ignore.
   */
  onError?: (error: KeyholeError) => void
}

/** A {@link RevocationStore} on Redis that is also a {@link RevocationFeed} of revocations made anywhere. */
export interface RedisStore extends RevocationStore, RevocationFeed {
  /** Always a promise here (a `RevocationStore` may also answer synchronously). */
  isRevoked(jti: string): Promise<boolean>
  /**
   * Resolves once the connection is up and, if anyone listens to the feed, the subscription is
   * active. Rejects with `revocation_unavailable` after `timeout` (default `'5s'`).
   */
  ready(timeout?: Duration): Promise<void>
  /** Disconnects the store's own connections (not a `client` you passed in). */
  close(): Promise<void>
}

// Sets the key unless it already lives longer (revoke twice keeps the later expiry), then
// announces the jti. Computes "now" on the Redis clock, the same clock that expires the key.
const REVOKE_SCRIPT = `
local keep = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if keep <= now then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 or (ttl >= 0 and now + ttl < keep) then
  redis.call('SET', KEYS[1], '1', 'PXAT', ARGV[1])
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`

// Reconnect for ever, backing off to one attempt every two seconds.
const retryStrategy = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 6), 2_000)

/** Settings that keep a connection from queueing work for later: calls fail closed instead. */
const failFast: Partial<RedisOptions> = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy,
}

/**
 * Creates a revocation store on Redis, shared by every proxy replica pointed at it.
 *
 * Each revoked `jti` is one key (`prefix + jti`) that expires with the token (plus `grace`), so
 * Redis forgets it by itself; `isRevoked` is one `EXISTS`. `revoke` also publishes the `jti` on
 * `channel`, and `onRevoked` listens there on a second connection, so a caching wrapper on every
 * replica learns of a revocation at once (`createCachingStore(store)` subscribes by itself).
 *
 * Fails closed: every call settles within `timeout`, rejecting with `revocation_unavailable`
 * while Redis is unreachable; connections come back by themselves, and nothing is queued to be
 * replayed. Pub/sub is fire-and-forget: a replica whose subscriber was reconnecting misses the
 * message and learns of the revocation when its negative cache entry expires.
 *
 * @example
 * ```ts
 * import { createCachingStore, createOpener } from '@keyhole/core'
 * import { createRedisStore } from '@keyhole/redis'
 *
 * const shared = createRedisStore({ url: process.env.REDIS_URL })
 * const opener = createOpener({ keyring, revocations: createCachingStore(shared) })
 * // on shutdown
 * await shared.close()
 * ```
 */
export function createRedisStore(options: RedisStoreOptions = {}): RedisStore {
  const prefix = options.prefix ?? 'keyhole:revoked:'
  const channel = options.channel ?? 'keyhole:revocations'
  if (typeof prefix !== 'string' || typeof channel !== 'string' || channel.length === 0) {
    throw new KeyholeError('bad_request', 'prefix must be a string and channel a non-empty string')
  }
  const timeoutMs = toSeconds(options.timeout ?? '500ms') * 1000
  const graceMs = toSeconds(options.grace ?? '60s') * 1000
  const maxPending = options.maxPending ?? 1000
  const report = (message: string) => (err: unknown) => {
    try {
      options.onError?.(unavailable(message, err))
    } catch {
      // a throwing error hook must not turn into an unhandled 'error' event
    }
  }

  const ownClient = options.client === undefined
  const client =
    options.client ??
    new Redis(options.url ?? 'redis://127.0.0.1:6379', {
      ...failFast,
      connectTimeout: Math.max(timeoutMs, 1_000),
    })
  if (ownClient) client.on('error', report('Redis connection error'))

  const gate = createGate({
    isReady: () => client.status === 'ready',
    connect: () => {
      if (client.status === 'wait') client.connect().catch(() => undefined)
    },
    timeoutMs,
    maxPending,
    what: 'Redis',
  })
  client.on('ready', () => gate.open())

  const listeners = new Set<(jti: string) => void>()
  let subscriber: Redis | undefined
  let subscribed: Promise<void> = Promise.resolve()
  let closed = false

  const subscribe = (): Redis => {
    if (subscriber) return subscriber
    // Its own connection: a subscribed connection can run nothing but (un)subscribe commands.
    const sub = client.duplicate({ ...failFast, lazyConnect: true, autoResubscribe: false })
    sub.on('error', report('Redis subscriber connection error'))
    let markSubscribed: () => void = () => undefined
    const waitForSubscription = () => {
      subscribed = new Promise((resolve) => {
        markSubscribed = resolve
      })
    }
    waitForSubscription()
    sub.on('ready', () => {
      // Every new connection starts unsubscribed; subscribe afresh each time it comes back.
      sub.subscribe(channel).then(() => markSubscribed(), report('Redis SUBSCRIBE failed'))
    })
    sub.on('close', () => {
      if (!closed) waitForSubscription()
    })
    sub.on('message', (from: string, jti: string) => {
      if (from !== channel) return
      for (const listener of listeners) {
        try {
          listener(jti)
        } catch (err) {
          report('a revocation listener threw')(err)
        }
      }
    })
    sub.connect().catch(() => undefined)
    subscriber = sub
    return sub
  }

  const checkOpen = () => {
    if (closed) throw unavailable('the Redis revocation store is closed')
  }

  return {
    async isRevoked(jti) {
      assertJti(jti)
      checkOpen()
      return (await gate.run(() => client.exists(prefix + jti))) > 0
    },

    async revoke(jti, expiresAt) {
      assertJti(jti)
      const keepUntil = Math.ceil(expiryMs(expiresAt) + graceMs)
      checkOpen()
      await gate.run(() => client.eval(REVOKE_SCRIPT, 1, prefix + jti, String(keepUntil), channel, jti))
    },

    onRevoked(listener) {
      listeners.add(listener)
      if (!closed) subscribe()
      return () => {
        listeners.delete(listener)
      }
    },

    async ready(timeout = '5s') {
      checkOpen()
      const ms = toSeconds(timeout) * 1000
      let timer: ReturnType<typeof setTimeout> | undefined
      let onReady: (() => void) | undefined
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(unavailable(`Redis was not ready within ${ms} ms`)), ms)
      })
      const up = new Promise<void>((resolve) => {
        if (client.status === 'ready') return resolve()
        if (client.status === 'wait') client.connect().catch(() => undefined)
        onReady = resolve
        client.once('ready', onReady)
      })
      try {
        await Promise.race([up.then(() => (subscriber ? subscribed : undefined)), expired])
      } finally {
        clearTimeout(timer)
        // a ready() that timed out must not leave a listener behind
        if (onReady) client.off('ready', onReady)
      }
    },

    async close() {
      if (closed) return
      closed = true
      listeners.clear()
      subscriber?.disconnect()
      if (ownClient) client.disconnect()
    },
  }
}
