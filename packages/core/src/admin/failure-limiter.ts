import { type Duration, toSeconds } from '../duration.js'
import { KeyholeError } from '../errors.js'

/** Options of {@link createFailureLimiter}. */
export interface FailureLimiterOptions {
  /** Failed attempts allowed per address within `window`; the next one is refused. Default `10`. */
  failures?: number
  /** How long failures are counted from an address's first one. Default `'60s'`. */
  window?: Duration
  /**
   * Most addresses tracked at once. When it is reached, addresses whose window has passed are
   * dropped, then the longest-tracked one. Default `10_000`.
   */
  maxAddresses?: number
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/** Counts failed attempts per client address, in bounded memory. */
export interface FailureLimiter {
  /** Seconds until `address` may try again, or `0` when it is not blocked. */
  retryAfter(address: string): number
  /** Records one failed attempt from `address`. */
  fail(address: string): void
  /** Addresses tracked. */
  readonly size: number
}

interface Window {
  count: number
  readonly resetAt: number
}

/**
 * A fixed-window counter of failed attempts per client address, for the admin routes: after
 * `failures` failures within `window` an address is refused until its window ends. Memory is
 * bounded by `maxAddresses`; an attacker with more addresses than that can only reset counters
 * (each address still gets no more than `failures` tries per window before being dropped).
 *
 * @example
 * ```ts
 * const limiter = createFailureLimiter({ failures: 10, window: '1m' })
 * const wait = limiter.retryAfter(address)
 * if (wait > 0) return errorResponse('rate_limited') // with Retry-After: wait
 * if (!(await isAdmin(authorization))) limiter.fail(address)
 * ```
 */
export function createFailureLimiter(options: FailureLimiterOptions = {}): FailureLimiter {
  const failures = options.failures ?? 10
  const windowMs = toSeconds(options.window ?? '60s') * 1000
  const maxAddresses = options.maxAddresses ?? 10_000
  const now = options.now ?? Date.now
  for (const [name, value] of [
    ['failures', failures],
    ['maxAddresses', maxAddresses],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new KeyholeError('bad_request', `rate limit ${name} must be a positive integer`)
    }
  }
  if (!(windowMs > 0)) throw new KeyholeError('bad_request', 'the rate limit window must be more than 0')

  // Insertion order is first-failure order, so the oldest window is the first key.
  const windows = new Map<string, Window>()

  const current = (address: string, at: number): Window | undefined => {
    const window = windows.get(address)
    if (window !== undefined && window.resetAt <= at) {
      windows.delete(address)
      return undefined
    }
    return window
  }

  const makeRoom = (at: number): void => {
    for (const [address, window] of windows) {
      if (windows.size < maxAddresses) return
      if (window.resetAt <= at) windows.delete(address)
    }
    while (windows.size >= maxAddresses) windows.delete(windows.keys().next().value as string)
  }

  return {
    retryAfter(address) {
      const at = now()
      const window = current(address, at)
      if (window === undefined || window.count < failures) return 0
      return Math.max(1, Math.ceil((window.resetAt - at) / 1000))
    },
    fail(address) {
      const at = now()
      const window = current(address, at)
      if (window !== undefined) {
        window.count++
        return
      }
      if (windows.size >= maxAddresses) makeRoom(at)
      windows.set(address, { count: 1, resetAt: at + windowMs })
    },
    get size() {
      return windows.size
    },
  }
}
