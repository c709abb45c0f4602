import type { IncomingMessage, ServerResponse } from 'node:http'
import { type AdminHandler, type AdminHandlersOptions, createAdminHandlers } from '@keyhole/core'
import { headersFromRaw } from '@keyhole/core/node'
import type { Request as ExpressRequest, NextFunction, RequestHandler } from 'express'
import { sendResponse } from './send-response.js'

/** How the adapter learns a request's client address, for rate-limiting failed admin attempts. */
export type ClientAddress = (req: ExpressRequest) => string | undefined

/** Options of {@link admin}: core's `createAdminHandlers` options, plus where the client address comes from. */
export interface AdminOptions extends AdminHandlersOptions {
  /**
   * The client's address. Default: `req.ip` (the socket's address unless Express's `trust proxy`
   * setting says to believe `X-Forwarded-For`).
   */
  clientAddress?: ClientAddress
}

const defaultAddress: ClientAddress = (req) => req.ip ?? req.socket?.remoteAddress

/**
 * keyhole's management routes as one Express middleware, built on core's `createAdminHandlers`:
 * `GET /.well-known/jwks.json`, `GET /healthz`, `GET /readyz`, and with an `adminToken` (at least
 * 32 bytes) `POST /revoke` and `POST /mint`, below wherever it is mounted. Any other path goes
 * on to `next()`, so it can sit in front of the proxy. Failed admin attempts are rate-limited
 * per client address (429 with `Retry-After`); the right token is never throttled. Needs no body
 * parser (and works behind `express.json()`).
 *
 * @example
 * ```ts
 * import { admin, keyhole } from '@keyhole/express'
 *
 * app.use(admin({ keyring, opener, adminToken: process.env.KEYHOLE_ADMIN_TOKEN }))
 * app.use('/proxy', keyhole({ opener }))
 * ```
 */
export function admin(options: AdminOptions = {}): RequestHandler {
  const { clientAddress = defaultAddress, ...handlerOptions } = options
  const handlers = createAdminHandlers(handlerOptions)
  return (req, res, next) => {
    const request = webRequest(req)
    const response = handlers.handle(request, { path: pathOf(req.url), ...context(req, clientAddress) })
    if (response === undefined) {
      next()
      return
    }
    response.then((r) => sendResponse(res, r)).catch(next)
  }
}

/** One of core's admin handlers as an Express handler. */
export function expressHandler(
  handler: AdminHandler,
  clientAddress: ClientAddress = defaultAddress,
): RequestHandler {
  return (req: ExpressRequest, res: ServerResponse, next: NextFunction) => {
    handler(webRequest(req), context(req, clientAddress))
      .then((response) => sendResponse(res, response))
      .catch(next)
  }
}

function context(req: ExpressRequest, clientAddress: ClientAddress): { clientAddress?: string } {
  const address = clientAddress(req)
  return address === undefined ? {} : { clientAddress: address }
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/'
  const query = raw.indexOf('?')
  return query === -1 ? raw : raw.slice(0, query)
}

/**
 * A web `Request` for core's admin handlers. Its URL is a placeholder origin plus `req.url`
 * (the handlers route by the path they are given, never by `Host`). A body a parser already read
 * (`express.json()`) is passed on as JSON again; otherwise the Node stream is wrapped.
 */
function webRequest(req: ExpressRequest & { body?: unknown }): Request {
  let url: string
  try {
    url = new URL(req.url ?? '/', 'http://localhost').href
  } catch {
    url = 'http://localhost/'
  }
  const method = req.method ?? 'GET'
  // A copy: the raw view is read-only, and a re-serialized body needs its Content-Length dropped.
  const headers = new Headers(headersFromRaw(req.rawHeaders))
  if (method === 'GET' || method === 'HEAD') return new Request(url, { method, headers })
  const parsed = req.body !== undefined && req.readableEnded
  if (parsed) headers.delete('content-length')
  const body = parsed ? JSON.stringify(req.body) : streamOf(req)
  return new Request(url, { method, headers, body, duplex: 'half' } as RequestInit)
}

/**
 * The request body as a web stream with backpressure. Cancelling it (a body over the limit)
 * discards the rest of the upload instead of destroying the socket, so the 400 still reaches
 * the client.
 */
function streamOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  let done = false
  const onData = (chunk: Buffer) => {
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    if ((controller.desiredSize ?? 1) <= 0) req.pause()
  }
  let controller!: ReadableStreamDefaultController<Uint8Array>
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
        req.on('data', onData)
        req.once('end', () => {
          if (done) return
          done = true
          controller.close()
        })
        req.once('error', () => {
          if (done) return
          done = true
          controller.error(new Error('the request body could not be read'))
        })
      },
      pull() {
        req.resume()
      },
      cancel() {
        done = true
        req.off('data', onData)
        req.resume()
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  )
}
