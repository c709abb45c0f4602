import { type AdminHandler, type AdminHandlersOptions, createAdminHandlers } from '@keyhole/core'
import type { Context, Handler, MiddlewareHandler } from 'hono'
import { rawUrl } from './keyhole.js'
import { pathBelowMount } from './mount-path.js'

/** How the adapter learns a request's client address, for rate-limiting failed admin attempts. */
export type ClientAddress = (c: Context) => string | undefined

/** Options of {@link admin}: core's `createAdminHandlers` options, plus where the client address comes from. */
export interface AdminOptions extends AdminHandlersOptions {
  /**
   * The client's address. Default: the socket's remote address on `@hono/node-server`; on other
   * runtimes, pass one (e.g. from `hono/conninfo`, or a header your own load balancer sets).
   * Without one, all failed attempts share one bucket (the right admin token still always works).
   */
  clientAddress?: ClientAddress
}

interface NodeBindings {
  incoming?: { socket?: { remoteAddress?: unknown } }
}

/** The socket's address on `@hono/node-server`, found by shape so nothing of Node is imported. */
export function socketAddress(c: Context): string | undefined {
  const address = (c.env as NodeBindings | undefined)?.incoming?.socket?.remoteAddress
  return typeof address === 'string' ? address : undefined
}

/**
 * keyhole's management routes as one Hono middleware, built on core's `createAdminHandlers`:
 * `GET /.well-known/jwks.json`, `GET /healthz`, `GET /readyz`, and with an `adminToken` (at least
 * 32 bytes) `POST /revoke` and `POST /mint`, below wherever it is mounted. Any other path goes
 * on to the next handler, so it can sit in front of the proxy. Failed admin attempts are
 * rate-limited per client address (429 with `Retry-After`); the right token is never throttled.
 *
 * @example
 * ```ts
 * import { admin, keyhole } from '@keyhole/hono'
 *
 * app.use('*', admin({ keyring, opener, adminToken: process.env.KEYHOLE_ADMIN_TOKEN }))
 * app.all('/*', keyhole({ opener }))
 * ```
 */
export function admin(options: AdminOptions = {}): MiddlewareHandler {
  const { clientAddress = socketAddress, ...handlerOptions } = options
  const handlers = createAdminHandlers(handlerOptions)
  return async (c, next) => {
    const below = pathBelowMount(rawUrl(c), c.req.routePath)
    const query = below.indexOf('?')
    const path = query === -1 ? below : below.slice(0, query)
    const response = handlers.handle(c.req.raw, { path, ...context(c, clientAddress) })
    if (response === undefined) return next()
    return response
  }
}

/** One of core's admin handlers as a Hono handler. */
export function honoHandler(handler: AdminHandler, clientAddress: ClientAddress = socketAddress): Handler {
  return (c) => handler(c.req.raw, context(c, clientAddress))
}

function context(c: Context, clientAddress: ClientAddress): { clientAddress?: string } {
  const address = clientAddress(c)
  return address === undefined ? {} : { clientAddress: address }
}
