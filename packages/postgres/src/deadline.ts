import { isKeyholeError, KeyholeError } from '@keyhole/core'

/** Wraps anything Postgres threw as the one error keyhole callers branch on. */
export function unavailable(message: string, cause?: unknown): KeyholeError {
  if (isKeyholeError(cause)) return cause
  return new KeyholeError('revocation_unavailable', message, cause === undefined ? undefined : { cause })
}

/** Runs operations within a deadline and caps how many may be outstanding at once. */
export interface Deadline {
  run<T>(op: () => Promise<T>, timeoutMs?: number): Promise<T>
  readonly pending: number
}

/**
 * Every call settles within its deadline; past `maxPending` outstanding calls (a server that
 * stopped answering, a pool with no free connection), calls fail at once instead of piling up.
 */
export function createDeadline(defaultTimeoutMs: number, maxPending: number): Deadline {
  let pending = 0
  return {
    run<T>(op: () => Promise<T>, timeoutMs = defaultTimeoutMs): Promise<T> {
      if (pending >= maxPending) {
        return Promise.reject(unavailable(`Postgres has ${pending} unanswered queries; not sending more`))
      }
      return new Promise<T>((resolve, reject) => {
        let done = false
        const timer = setTimeout(() => {
          done = true
          reject(unavailable(`Postgres did not answer within ${timeoutMs} ms`))
        }, timeoutMs)
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
            clearTimeout(timer)
            resolve(value)
          },
          (err: unknown) => {
            pending--
            if (done) return
            clearTimeout(timer)
            // the SQLSTATE says what went wrong (42P01: table missing) without quoting any value
            const sqlState = (err as { code?: unknown } | null)?.code
            const suffix =
              typeof sqlState === 'string' && /^[0-9A-Z]{5}$/.test(sqlState) ? ` (SQLSTATE ${sqlState})` : ''
            reject(unavailable(`Postgres failed to answer${suffix}`, err))
          },
        )
      })
    },
    get pending() {
      return pending
    },
  }
}
