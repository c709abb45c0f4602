import { type Duration, KeyholeError, type ReplayCache, toSeconds } from '@keyhole/core'
import type { Redis } from 'ioredis'
import { createGate } from './bounded.js'

/** Options of {@link createRedisReplayCache}. */
export interface RedisReplayCacheOptions {
  /** Prefix of the key kept per claimed proof id. Default `'keyhole:proof:'`. */
  prefix?: string
  /** Longest a claim may take before it rejects with `revocation_unavailable`. Default `'500ms'`. */
  timeout?: Duration
  /** Unanswered commands at which further claims fail at once instead of queueing. Default `1000`. */
  maxPending?: number
}

/** A {@link ReplayCache} on Redis, shared by every replica that uses the same server and prefix. */
export interface RedisReplayCache extends ReplayCache {
  /** Stops listening to the client's `'ready'` events. The client stays open: it is yours. */
  close(): void
}

/**
 * Creates a proof-of-possession replay cache on Redis, so that a `Keyhole-Proof` accepted by one
 * proxy replica is refused by every other one.
 *
 * A claim is one atomic `SET <prefix><id> 1 NX PXAT <expiresAt>`: of any number of replicas
 * claiming the same id at once, exactly one gets `true`. Redis drops each key by itself at
 * `expiresAt` (by the Redis clock), so there is nothing to sweep, and an id may be claimed again
 * once its entry expired.
 *
 * Fails closed: a claim rejects with `revocation_unavailable` (the proxy answers 503) within
 * `timeout` while Redis cannot answer, and claims made while disconnected are never sent later.
 * The client stays yours; give it `enableOfflineQueue: false` and `maxRetriesPerRequest: 0`, as
 * for `createRedisStore({ client })`.
 *
 * @example
 * ```ts
 * import { createProxy } from '@keyhole/core'
 * import { createRedisReplayCache } from '@keyhole/redis'
 * import { Redis } from 'ioredis'
 *
 * const redis = new Redis(process.env.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0 })
 * const proxy = createProxy({ opener, replayCache: createRedisReplayCache(redis) })
 * ```
 */
export function createRedisReplayCache(
  redis: Redis,
  options: RedisReplayCacheOptions = {},
): RedisReplayCache {
  if (typeof redis?.set !== 'function') {
    throw new KeyholeError('bad_request', 'createRedisReplayCache needs an ioredis client')
  }
  const prefix = options.prefix ?? 'keyhole:proof:'
  if (typeof prefix !== 'string') throw new KeyholeError('bad_request', 'prefix must be a string')
  const gate = createGate({
    isReady: () => redis.status === 'ready',
    connect: () => {
      if (redis.status === 'wait') redis.connect().catch(() => undefined)
    },
    timeoutMs: toSeconds(options.timeout ?? '500ms') * 1000,
    maxPending: options.maxPending ?? 1000,
    what: 'Redis',
  })
  // Claims made while the connection was down wait for it (up to their deadline), then start here.
  const onReady = () => gate.open()
  redis.on('ready', onReady)

  return {
    async claim(id, expiresAt) {
      // Checked here, not left to Redis: an invalid PXAT would be a Redis error, reported as an outage.
      if (typeof id !== 'string' || id.length === 0)
        throw new KeyholeError('bad_request', 'a proof id is a non-empty string')
      const at = expiresAt instanceof Date ? expiresAt.getTime() : Number.NaN
      if (!Number.isFinite(at)) throw new KeyholeError('bad_request', 'expiresAt must be a valid Date')
      // PXAT must be positive; an expiry before 1970 is as expired as one a second ago.
      const pxat = Math.max(1, Math.ceil(at))
      const answer = await gate.run(() => redis.set(prefix + id, '1', 'PXAT', pxat, 'NX'))
      return answer === 'OK'
    },

    close() {
      redis.off('ready', onReady)
    },
  }
}
