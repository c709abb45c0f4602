import { KeyholeError, type ReplayCache } from '@keyhole/core'
import type { OpenedStore } from './open-store.js'

/** How long serve waits between attempts to reach a store that did not answer. */
const RETRY_MS = 2_000

/** What {@link waitForStore} hands back. */
export interface StoreWait {
  /**
   * The store's replay cache once the store answers; until then every claim rejects with
   * `revocation_unavailable`, so a key-bound token is refused (503), never let through twice.
   */
  readonly replayCache: ReplayCache
  /** Settles after the first attempt, whether or not the store answered. */
  readonly first: Promise<void>
  /** Stops waiting (on shutdown). */
  stop(): void
}

/**
 * Waits for a shared store without holding the proxy back: one attempt now (up to the store's
 * own timeout); if the store does not answer, says so once, then tries again every 2 s in the
 * background until it does, and says when it does. Meanwhile the proxy serves: revocation
 * lookups fail closed (503 `revocation_unavailable`) and `/readyz` answers 503, as during any
 * store outage.
 *
 * @example
 * ```ts
 * const waiting = waitForStore(opened, (line) => process.stderr.write(`${line}\n`))
 * await waiting.first
 * startServer({ replayCache: waiting.replayCache, ... })
 * ```
 */
export function waitForStore(opened: OpenedStore, report: (line: string) => void): StoreWait {
  let cache: ReplayCache | undefined
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let said = false

  const attempt = async (): Promise<void> => {
    try {
      await opened.ready()
      const ready = await opened.replayCache()
      if (stopped) return
      cache = ready
      if (said) report(`revocation store ${opened.display} answers again; ready`)
    } catch (error) {
      if (stopped) return
      if (!said) {
        said = true
        const why = error instanceof Error ? error.message : 'it did not answer'
        report(
          `${why}; serving anyway: /readyz answers 503 and requests that need the store 503 revocation_unavailable until it answers (retrying every ${RETRY_MS / 1000} s)`,
        )
      }
      timer = setTimeout(() => void attempt(), RETRY_MS)
      timer.unref()
    }
  }

  return {
    replayCache: {
      claim(id, expiresAt) {
        if (cache) return cache.claim(id, expiresAt)
        return Promise.reject(
          new KeyholeError('revocation_unavailable', 'the replay cache has not answered yet'),
        )
      },
    },
    first: attempt(),
    stop() {
      stopped = true
      clearTimeout(timer)
    },
  }
}
