import { type Duration, toSeconds } from '../duration.js'
import { KeyholeError } from '../errors.js'
import { ANSWER_NOW, type AnswersNow } from './answer-now.js'
import { assertJti, expiryMs } from './jti.js'
import type { RevocationStore } from './store.js'

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most revocations held at once. Default `1_000_000` (a million 22-character ids took 101 MB of heap on Node 20).
   * What happens when it is reached is {@link MemoryStoreOptions.onFull}'s call.
   */
  maxEntries?: number
  /** How often expired entries are removed in the background. `0` or `false` turns it off. Default `'60s'`. */
  sweepInterval?: Duration | false
  /**
   * How long a revocation is kept after the token's own expiry. Openers accept a token for a
   * little while past `exp` (their `clockTolerance`, and replicas' clocks drift), so forgetting a
   * revocation exactly at `exp` would let a revoked token through in that window. Default `'60s'`.
   */
  grace?: Duration
  /**
   * What `revoke()` does when the store is full of revocations that have not expired yet:
   * - `'reject'` (default): throws `revocation_unavailable`, so whoever revokes learns the
   *   revocation was not recorded. Nothing that was revoked ever becomes valid again.
   * - `'evict'`: forgets the revocation whose token expires soonest to make room. That token
   *   is accepted again until it expires — choose this only if memory matters more than that.
   */
  onFull?: 'reject' | 'evict'
}

/** An in-memory {@link RevocationStore}, for a single process (several replicas need Redis or Postgres). */
export interface MemoryStore extends RevocationStore {
  /**
   * Answers synchronously (the answer is in memory); a malformed id gets a rejected promise
   * (`bad_request`), so `await` and `.catch` both see the error.
   */
  isRevoked(jti: string): boolean | Promise<boolean>
  /** Revocations held, including expired ones the sweeper has not removed yet. */
  readonly size: number
  /** Removes revocations past their expiry (plus grace) now; returns how many went. */
  sweep(): number
  /** Stops the background sweeper. Entries stay readable; call it when the store is no longer used. */
  close(): void
}

// Each sweep step removes at most this many entries before yielding, so a million revocations
// expiring at once never blocks the event loop for long.
const SWEEP_BATCH = 20_000

/**
 * Creates a bounded in-memory revocation store: a `Map` from `jti` to the time it may be
 * forgotten, with O(1) lookups and a min-heap by expiry that makes sweeping and eviction
 * proportional to the number of entries removed, not the number held.
 *
 * Revoking an id again keeps the later of the two expiries. A revocation whose expiry (plus
 * `grace`) has passed is no longer reported and is removed by the next sweep. The sweep timer is
 * `unref`ed, so it never keeps a process alive.
 *
 * @example
 * ```ts
 * const revocations = createMemoryStore({ maxEntries: 100_000 })
 * await revocations.revoke(grant.jti, new Date(grant.exp * 1000))
 * revocations.isRevoked(grant.jti) // true, synchronously (the answer is in memory)
 * const opener = createOpener({ keyring, revocations })
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxEntries = options.maxEntries ?? 1_000_000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new KeyholeError('bad_request', 'maxEntries must be a positive integer')
  }
  const graceMs = toSeconds(options.grace ?? '60s') * 1000
  const onFull = options.onFull ?? 'reject'
  const sweepMs = options.sweepInterval === false ? 0 : toSeconds(options.sweepInterval ?? '60s') * 1000

  // jti -> epoch ms after which the revocation may be forgotten (token expiry + grace)
  const entries = new Map<string, number>()
  // Min-heap of (until, jti) in two parallel arrays. Entries are never removed from the middle:
  // a pair whose `until` no longer equals the map's value is stale and skipped when it surfaces.
  const heapUntil: number[] = []
  const heapJti: string[] = []

  const push = (until: number, jti: string): void => {
    let i = heapUntil.length
    heapUntil.push(until)
    heapJti.push(jti)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((heapUntil[parent] as number) <= until) break
      heapUntil[i] = heapUntil[parent] as number
      heapJti[i] = heapJti[parent] as string
      i = parent
    }
    heapUntil[i] = until
    heapJti[i] = jti
  }

  const pop = (): void => {
    const lastUntil = heapUntil.pop() as number
    const lastJti = heapJti.pop() as string
    const n = heapUntil.length
    if (n === 0) return
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && (heapUntil[right] as number) < (heapUntil[left] as number) ? right : left
      if ((heapUntil[child] as number) >= lastUntil) break
      heapUntil[i] = heapUntil[child] as number
      heapJti[i] = heapJti[child] as string
      i = child
    }
    heapUntil[i] = lastUntil
    heapJti[i] = lastJti
  }

  // Drops heap pairs that no longer describe a live map entry until the top is a live one.
  const dropStaleTop = (): void => {
    while (heapUntil.length > 0 && entries.get(heapJti[0] as string) !== heapUntil[0]) pop()
  }

  const sweepSome = (limit: number): number => {
    const now = Date.now()
    let removed = 0
    while (removed < limit) {
      dropStaleTop()
      if (heapUntil.length === 0 || (heapUntil[0] as number) > now) break
      entries.delete(heapJti[0] as string)
      pop()
      removed++
    }
    // Re-revocations with later expiries leave stale pairs behind; rebuild if they pile up.
    if (heapUntil.length > 2 * entries.size + 1024) {
      heapUntil.length = 0
      heapJti.length = 0
      for (const [jti, until] of entries) push(until, jti)
    }
    return removed
  }

  let timer: ReturnType<typeof setTimeout> | undefined
  let closed = false
  const unref = (handle: ReturnType<typeof setTimeout>): void => {
    // Node and Bun return an object with unref(); browsers and Workers return a number.
    if (typeof handle === 'object' && handle !== null && 'unref' in handle) handle.unref()
  }
  const schedule = (delay: number): void => {
    if (closed || sweepMs <= 0) return
    timer = setTimeout(() => {
      // A full batch means more may be waiting: continue soon, on a later turn of the event loop.
      schedule(sweepSome(SWEEP_BATCH) === SWEEP_BATCH ? 0 : sweepMs)
    }, delay)
    unref(timer)
  }
  schedule(sweepMs)

  const store: MemoryStore & AnswersNow = {
    get size() {
      return entries.size
    },

    isRevoked(jti) {
      try {
        assertJti(jti)
      } catch (err) {
        return Promise.reject(err)
      }
      const until = entries.get(jti)
      return until !== undefined && until > Date.now()
    },

    [ANSWER_NOW](jti: string) {
      // A malformed id gets no answer here; isRevoked then rejects it as usual.
      const until = typeof jti === 'string' ? entries.get(jti) : undefined
      if (until === undefined) {
        try {
          assertJti(jti)
        } catch {
          return undefined
        }
        return false
      }
      return until > Date.now()
    },

    revoke(jti, expiresAt) {
      let until: number
      try {
        assertJti(jti)
        until = expiryMs(expiresAt) + graceMs
      } catch (err) {
        return Promise.reject(err)
      }
      const now = Date.now()
      // Nothing to keep: the token (plus grace) is already past its expiry everywhere.
      if (until <= now) return Promise.resolve()
      const current = entries.get(jti)
      if (current !== undefined && current > now) {
        if (until > current) {
          entries.set(jti, until)
          push(until, jti)
        }
        return Promise.resolve()
      }
      if (current === undefined && entries.size >= maxEntries) {
        sweepSome(Number.POSITIVE_INFINITY)
        if (entries.size >= maxEntries) {
          if (onFull === 'reject') {
            return Promise.reject(
              new KeyholeError(
                'revocation_unavailable',
                `the in-memory revocation store is full (${maxEntries} unexpired revocations); the revocation was not recorded`,
              ),
            )
          }
          dropStaleTop()
          entries.delete(heapJti[0] as string)
          pop()
        }
      }
      entries.set(jti, until)
      push(until, jti)
      return Promise.resolve()
    },

    sweep() {
      return sweepSome(Number.POSITIVE_INFINITY)
    },

    close() {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
    },
  }
  return store
}
