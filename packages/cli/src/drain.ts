import type { Server, ServerResponse } from 'node:http'

/** How {@link Drain.stop} drains. */
export interface DrainOptions {
  /** Keep accepting connections this long first (a load balancer's readiness probe interval). */
  delayMs: number
  /** Then give requests in flight this long before their connections are cut. */
  graceMs: number
  /** Called when the grace period runs out, to cut what the HTTP server does not track. */
  cut?: () => void
}

/** Graceful shutdown of one `http.Server`, set up by {@link trackDrain}. */
export interface Drain {
  /** Resolves once every connection is closed, or just after the grace period cut them. */
  stop(options: DrainOptions): Promise<void>
}

// After the grace period the connections are destroyed; their close events follow within a tick
// or two. This bounds the wait should a socket linger anyway, so shutdown always finishes.
const AFTER_CUT_MS = 1000

/**
 * Tracks the responses `server` is writing, so that stopping can wait for exactly those.
 * `server.close()` alone stops the listener but waits for keep-alive connections to time out
 * (seconds, and a client sending more requests keeps one open indefinitely); this closes each
 * connection as soon as its last response is written, and answers any request that still arrives
 * on one with `Connection: close`. Call it once, right after the server is made.
 *
 * @example
 * ```ts
 * const drain = trackDrain(server)
 * process.once('SIGTERM', () => drain.stop({ delayMs: 5_000, graceMs: 10_000 }).then(() => process.exit(0)))
 * ```
 */
export function trackDrain(server: Server): Drain {
  const inFlight = new Set<ServerResponse>()
  let listenerClosed = false
  // Set once the server has closed: called when the last response in flight has closed too.
  let onLastResponse: (() => void) | undefined
  const closeIdleSoon = () => {
    // On the next turn: the connection counts as idle only once the response has been detached.
    setImmediate(() => server.closeIdleConnections())
  }
  // First among the listeners, so the header is set before any handler can start the response.
  server.prependListener('request', (_request, response: ServerResponse) => {
    if (listenerClosed && !response.headersSent) response.setHeader('connection', 'close')
    inFlight.add(response)
    response.once('close', () => {
      inFlight.delete(response)
      if (listenerClosed) closeIdleSoon()
      if (inFlight.size === 0) onLastResponse?.()
    })
  })

  let stopping: Promise<void> | undefined
  return {
    stop({ delayMs, graceMs, cut }) {
      stopping ??= new Promise<void>((resolve) => {
        setTimeout(() => {
          listenerClosed = true
          for (const response of inFlight)
            if (!response.headersSent) response.setHeader('connection', 'close')
          let afterCut: ReturnType<typeof setTimeout> | undefined
          const grace = setTimeout(() => {
            server.closeAllConnections()
            cut?.()
            afterCut = setTimeout(done, AFTER_CUT_MS)
          }, graceMs)
          function done() {
            clearTimeout(grace)
            clearTimeout(afterCut)
            resolve()
          }
          // The server counts a connection gone when it is destroyed, but its response emits
          // 'close' only in a later phase of the event loop: wait for that too, so the handler of
          // a request the grace period cut learns its client is gone (499 client_aborted) before
          // whoever stops next (the forwarder's pool) cuts its upstream (502 upstream_unreachable).
          server.close(() => {
            if (inFlight.size === 0) done()
            else onLastResponse = done
          })
          server.closeIdleConnections()
        }, delayMs)
      })
      return stopping
    },
  }
}
