import { toAbortSignal } from './close-signal.js'
import { headersFromRaw } from './raw-headers.js'

/**
 * The parts of a Node `http.IncomingMessage` that {@link requestFromIncoming} uses, spelled out
 * so that this module imports nothing from Node.
 */
export interface IncomingMessageLike {
  readonly method?: string | undefined
  readonly url?: string | undefined
  readonly rawHeaders: string[]
  readonly headers: { readonly host?: string | undefined }
  readonly socket: unknown
  readonly complete: boolean
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown
  once(event: 'end' | 'close', listener: () => void): unknown
  once(event: 'error', listener: (error: Error) => void): unknown
  pause(): unknown
  resume(): unknown
  destroy(error?: Error): unknown
}

/**
 * A web `Request` view of a Node request, built lazily, for Node adapters to hand the engine:
 * the engine reads `method`, `headers` and `body` (and `url` only when no path is given), so only
 * those are provided directly, and `headers` is a read-only view over `rawHeaders`
 * (`headersFromRaw`); nothing is parsed or copied until asked for. Any other member materializes
 * a real `Request` over the same body, and `signal` is always a real `AbortSignal` that follows
 * the one given (which may be a {@link closeSignal}).
 *
 * With `nodeBody`, `body` is the `IncomingMessage` itself rather than a web stream over it:
 * only for the node forwarder, which pipes a Node stream straight into the upstream request
 * (a custom forwarder must get a proper web stream).
 *
 * @example
 * ```ts
 * const signal = closeSignal(res)
 * const response = await handle(requestFromIncoming(req, signal), { path: req.url, signal })
 * ```
 */
export function requestFromIncoming(
  req: IncomingMessageLike,
  signal: AbortSignal,
  nodeBody = false,
): Request {
  const view = Object.create(lazyRequestPrototype()) as LazyRequest
  view[INCOMING] = req
  view[SIGNAL] = signal
  if (nodeBody) view[BODY] = bodyless(req.method) ? null : (req as unknown as ReadableStream<Uint8Array>)
  return view as unknown as Request
}

const INCOMING = Symbol('incoming')
const SIGNAL = Symbol('signal')
const HEADERS = Symbol('headers')
const BODY = Symbol('body')
const REAL = Symbol('real')

interface LazyRequest {
  [INCOMING]: IncomingMessageLike
  [SIGNAL]: AbortSignal
  [HEADERS]?: Headers
  [BODY]?: ReadableStream<Uint8Array> | null
  [REAL]?: Request
}

function bodyless(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD'
}

// Made on first use, not at import: touching the global Request loads Node's fetch
// implementation (undici, about 8 MB resident), which a process that imports this module but
// answers nothing through it yet (keyhole serve at rest) should not pay for.
let prototype: object | undefined
function lazyRequestPrototype(): object {
  prototype ??= createLazyRequestPrototype()
  return prototype
}

function createLazyRequestPrototype(): object {
  const lazy = Object.create(Request.prototype, {
    method: {
      get(this: LazyRequest) {
        return this[INCOMING].method ?? 'GET'
      },
    },
    url: {
      get(this: LazyRequest) {
        const req = this[INCOMING]
        const secure = (req.socket as { encrypted?: boolean } | null)?.encrypted === true
        return `${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`
      },
    },
    headers: {
      get(this: LazyRequest) {
        this[HEADERS] ??= headersFromRaw(this[INCOMING].rawHeaders)
        return this[HEADERS]
      },
    },
    body: {
      get(this: LazyRequest) {
        if (this[BODY] === undefined) {
          const req = this[INCOMING]
          this[BODY] = bodyless(req.method) ? null : streamFrom(req)
        }
        return this[BODY]
      },
    },
    bodyUsed: {
      // Asked by the engine on every request: answered without materializing a Request. The
      // adapter has already checked that nothing read the Node request (else it says so).
      get(this: LazyRequest) {
        return this[REAL]?.bodyUsed ?? false
      },
    },
    signal: {
      get(this: LazyRequest) {
        // A closeSignal() is only AbortSignal-shaped; whoever asks the request for its signal gets a real one.
        this[SIGNAL] = toAbortSignal(this[SIGNAL])
        return this[SIGNAL]
      },
    },
  })

  for (const name of Object.getOwnPropertyNames(Request.prototype)) {
    if (name === 'constructor' || Object.hasOwn(lazy, name)) continue
    const descriptor = Object.getOwnPropertyDescriptor(Request.prototype, name)
    if (!descriptor) continue
    if (typeof descriptor.value === 'function') {
      Object.defineProperty(lazy, name, {
        value(this: LazyRequest, ...args: unknown[]) {
          const real = materialize(this) as unknown as Record<string, (...a: unknown[]) => unknown>
          return real[name]!(...args)
        },
      })
    } else if (descriptor.get) {
      Object.defineProperty(lazy, name, {
        get(this: LazyRequest) {
          return (materialize(this) as unknown as Record<string, unknown>)[name]
        },
      })
    }
  }
  return lazy
}

function materialize(view: LazyRequest): Request {
  if (view[REAL]) return view[REAL]
  const self = view as unknown as Request
  const init: RequestInit & { duplex?: 'half' } = {
    method: self.method,
    headers: self.headers,
    signal: self.signal,
  }
  let body: ReadableStream<Uint8Array> | null = self.body
  if (body && typeof (body as { getReader?: unknown }).getReader !== 'function') {
    body = streamFrom(view[INCOMING])
    view[BODY] = body
  }
  if (body) {
    init.body = body
    init.duplex = 'half'
  }
  view[REAL] = new Request(self.url, init)
  return view[REAL]
}

/**
 * A byte stream over a Node request that reads only as fast as it is consumed (the socket is
 * paused while the web stream's queue is full) and destroys the request when cancelled.
 */
function streamFrom(req: IncomingMessageLike): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Uint8Array) => {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
          if ((controller.desiredSize ?? 0) <= 0) req.pause()
        })
        req.once('end', () => controller.close())
        req.once('error', (error) => controller.error(error))
        req.once('close', () => {
          // A client that disconnected mid-upload: the upstream must not get a truncated body
          // that looks complete.
          if (!req.complete) controller.error(new Error('the client closed the connection'))
        })
      },
      pull() {
        req.resume()
      },
      cancel() {
        req.destroy()
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  )
}
