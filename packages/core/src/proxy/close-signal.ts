/** What {@link closeSignal} watches: a Node `ServerResponse`, or anything shaped like one. */
export interface ClosableResponse {
  once(event: 'close', listener: () => void): unknown
  readonly writableFinished: boolean
}

type AbortListener = ((this: AbortSignal, event: Event) => unknown) | { handleEvent(event: Event): unknown }

/**
 * The part of `AbortSignal` that keyhole's engine and node forwarder use, without `EventTarget`:
 * on Node 20 a real `AbortController` plus one `{ once: true }` listener costs ~3.6 µs of CPU
 * to make (a loop of a million), and in one A/B of the Hono proxy with a reused token (4 runs each,
 * medians) swapping it for this one took CPU per request from 123 to 108 µs, GC included.
 */
class CloseSignal {
  aborted = false
  reason: unknown = undefined
  onabort: ((this: AbortSignal, event: Event) => unknown) | null = null
  #listeners: AbortListener[] | undefined

  addEventListener(type: string, listener: AbortListener | null): void {
    if (type !== 'abort' || !listener || this.aborted) return
    if (!this.#listeners) this.#listeners = [listener]
    else if (!this.#listeners.includes(listener)) this.#listeners.push(listener)
  }

  removeEventListener(type: string, listener: AbortListener | null): void {
    if (type !== 'abort' || !this.#listeners || !listener) return
    const at = this.#listeners.indexOf(listener)
    if (at !== -1) this.#listeners.splice(at, 1)
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason
  }

  abort(): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = new DOMException('The client closed the connection', 'AbortError')
    const listeners = this.#listeners
    this.#listeners = undefined
    const event = { type: 'abort', target: this } as unknown as Event
    const self = this as unknown as AbortSignal
    // Every listener runs even when one throws, as with EventTarget; the first error surfaces later.
    const run = (fn: () => unknown) => {
      try {
        fn()
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
    if (this.onabort) run(() => this.onabort?.call(self, event))
    for (const listener of listeners ?? []) {
      if (typeof listener === 'function') run(() => listener.call(self, event))
      else run(() => listener.handleEvent(event))
    }
  }
}

/**
 * A signal that aborts when the connection of `response` closes before the response was
 * finished, i.e. the client went away: what an adapter passes as `ProxyContext.signal`. Cheaper
 * than an `AbortController` per request, and, like one, it fires its `abort` listeners once.
 *
 * It is `AbortSignal`-shaped, not an `AbortSignal`: the engine reads `aborted` and `reason` and
 * adds and removes `abort` listeners, and bridges it to a real `AbortSignal` for any forwarder
 * other than keyhole's node forwarder, so `fetch` never sees it. Do not hand it to `fetch`
 * yourself.
 *
 * @example
 * ```ts
 * // an Express or plain node:http handler
 * handle(request, { path: req.url, signal: closeSignal(res) })
 * ```
 */
export function closeSignal(response: ClosableResponse): AbortSignal {
  const signal = new CloseSignal()
  response.once('close', () => {
    if (!response.writableFinished) signal.abort()
  })
  return signal as unknown as AbortSignal
}

/**
 * A real `AbortSignal` that follows `signal`: `signal` itself when it is one, otherwise a new one
 * that aborts when `signal` does (for handing a {@link closeSignal} to `fetch` or `new Request`).
 */
export function toAbortSignal(signal: AbortSignal): AbortSignal {
  if ((signal as unknown) instanceof AbortSignal) return signal
  const controller = new AbortController()
  if (signal.aborted) controller.abort(signal.reason)
  else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true })
  return controller.signal
}
