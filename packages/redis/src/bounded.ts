import { isKeyholeError, KeyholeError } from '@keyhole/core'

/** Wraps anything a Redis call threw as the one error keyhole callers branch on. */
export function unavailable(message: string, cause?: unknown): KeyholeError {
  if (isKeyholeError(cause)) return cause
  return new KeyholeError('revocation_unavailable', message, cause === undefined ? undefined : { cause })
}

/** A gate that runs operations only while a connection is up, each within a deadline. */
export interface Gate {
  /** Runs `op` once the connection is ready, rejecting with `revocation_unavailable` after `timeoutMs`. */
  run<T>(op: () => Promise<T>): Promise<T>
  /** Starts the operations waiting for the connection. Call on every 'ready'. */
  open(): void
  /** Commands sent and not yet answered. */
  readonly pending: number
  /** Calls waiting for the connection. */
  readonly waiting: number
}

/**
 * Bounds every call in time and in number. A call made while the connection is down waits for
 * it up to the deadline and is never sent after giving up, so nothing piles up to be replayed
 * on reconnect; past `maxPending` unanswered commands (a server that accepts connections but
 * stopped answering) calls fail at once instead of growing the client's queue.
 */
export function createGate(options: {
  isReady: () => boolean
  connect: () => void
  timeoutMs: number
  maxPending: number
  what: string
}): Gate {
  const { isReady, connect, timeoutMs, maxPending, what } = options
  const waiters = new Set<() => void>()
  let pending = 0

  return {
    run<T>(op: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        let done = false
        const finish = () => {
          done = true
          clearTimeout(timer)
          waiters.delete(start)
        }
        const timer = setTimeout(() => {
          if (done) return
          finish()
          reject(unavailable(`${what} did not answer within ${timeoutMs} ms`))
        }, timeoutMs)
        const start = () => {
          if (done) return
          if (pending >= maxPending) {
            finish()
            reject(unavailable(`${what} has ${pending} unanswered commands; not sending more`))
            return
          }
          pending++
          let answer: Promise<T>
          try {
            answer = op()
          } catch (err) {
            answer = Promise.reject(err)
          }
          answer.then(
            (value) => {
              pending--
              if (done) return
              finish()
              resolve(value)
            },
            (err: unknown) => {
              pending--
              if (done) return
              finish()
              reject(unavailable(`${what} failed to answer`, err))
            },
          )
        }
        if (isReady()) {
          start()
        } else if (waiters.size >= maxPending) {
          finish()
          reject(unavailable(`${what} is not connected`))
        } else {
          waiters.add(start)
          connect()
        }
      })
    },

    open() {
      const ready = [...waiters]
      waiters.clear()
      for (const start of ready) start()
    },

    get pending() {
      return pending
    },

    get waiting() {
      return waiters.size
    },
  }
}
