import { KeyholeError } from '../errors.js'

/**
 * Remembers which proofs were already used, so a captured proof cannot be sent again. `claim` is
 * atomic: it returns `true` the first time an id is claimed and `false` for every later claim
 * until `expiresAt` has passed. Implementations throw (reject) when they cannot answer; the
 * engine then fails closed with 503 `revocation_unavailable`. Core ships
 * {@link createMemoryReplayCache}; `@keyhole/redis` and `@keyhole/postgres` share one across
 * replicas.
 *
 * @example
 * ```ts
 * const replay: ReplayCache = {
 *   async claim(id, expiresAt) {
 *     return (await redis.set(`proof:${id}`, '1', 'PXAT', expiresAt.getTime(), 'NX')) === 'OK'
 *   },
 * }
 * ```
 */
export interface ReplayCache {
  claim(id: string, expiresAt: Date): Promise<boolean>
}

/** Options of {@link createMemoryReplayCache}. */
export interface MemoryReplayCacheOptions {
  /**
   * Most proof ids held at once. Default `1_000_000`. When it is full of ids that have not
   * expired, `claim` throws `revocation_unavailable` (fail closed) rather than forget one, which
   * would let that proof be replayed.
   */
  maxEntries?: number
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/** An in-memory {@link ReplayCache} for one process, with its size. */
export interface MemoryReplayCache extends ReplayCache {
  readonly size: number
}

/**
 * Creates a bounded in-memory replay cache: a `Map` from proof id to expiry. Expired ids are
 * swept as new ones arrive (a bounded amount of work per claim), so it never grows past what the
 * proof window holds.
 *
 * @example
 * ```ts
 * const proxy = createProxy({ opener, replayCache: createMemoryReplayCache() })
 * ```
 */
export function createMemoryReplayCache(options: MemoryReplayCacheOptions = {}): MemoryReplayCache {
  const maxEntries = options.maxEntries ?? 1_000_000
  if (!Number.isSafeInteger(maxEntries) || maxEntries <= 0) {
    throw new KeyholeError('bad_request', 'maxEntries must be a positive integer')
  }
  const clock = options.now ?? Date.now
  // Insertion order is close to expiry order (every proof gets the same window), so sweeping
  // from the front removes expired ids first.
  const seen = new Map<string, number>()

  function sweep(now: number, budget: number): void {
    for (const [id, expiresAt] of seen) {
      if (budget-- <= 0) return
      if (expiresAt > now) continue
      seen.delete(id)
    }
  }

  return {
    get size() {
      return seen.size
    },
    async claim(id, expiresAt) {
      const now = clock()
      sweep(now, 8)
      const known = seen.get(id)
      if (known !== undefined && known > now) return false
      if (seen.size >= maxEntries) {
        sweep(now, seen.size)
        if (seen.size >= maxEntries) {
          throw new KeyholeError('revocation_unavailable', 'the proof replay cache is full')
        }
      }
      seen.delete(id)
      seen.set(id, expiresAt.getTime())
      return true
    },
  }
}
