import { type AuthorizedRequest, createRequestAuthorizer, type RequestAuthorizerOptions } from '@keyhole/core'
import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { rawUrl } from './keyhole.js'
import { pathBelowMount } from './mount-path.js'

/** Options of {@link keyholeAuth}: `opener` and `upstream` (required), `tokenHeaders` (default none). */
export type KeyholeAuthOptions = RequestAuthorizerOptions

/** What {@link keyholeAuth} puts on the context as `c.var.keyhole`: `{ grant, target, inject(headers, url?) }`. */
export type KeyholeContext = AuthorizedRequest

/** The Hono environment {@link keyholeAuth} adds: `c.var.keyhole`. */
export interface KeyholeEnv {
  Variables: { keyhole: KeyholeContext }
}

/**
 * Middleware for gateways that forward requests themselves: reads the token (`X-Keyhole-Token`,
 * `Authorization: Bearer`, then `tokenHeaders`), opens it (expiry and revocation are enforced
 * by the opener) and authorizes `upstream` + the path below the mount point, then sets
 * `c.var.keyhole = { grant, target, inject }`. A refused request gets the engine's JSON error
 * response (`X-Keyhole-Error`) and never reaches the next handler.
 *
 * @example
 * ```ts
 * import { keyholeAuth } from '@keyhole/hono'
 *
 * app.use('/github/*', keyholeAuth({ opener, upstream: 'https://api.github.com' }))
 * app.get('/github/*', async (c) => {
 *   const url = new URL(c.var.keyhole.target)
 *   const headers = new Headers(c.req.raw.headers)
 *   c.var.keyhole.inject(headers, url)
 *   return fetch(url, { headers, redirect: 'manual' })
 * })
 * ```
 */
export function keyholeAuth(options: KeyholeAuthOptions): MiddlewareHandler<KeyholeEnv> {
  const authorizeRequest = createRequestAuthorizer(options)
  return createMiddleware<KeyholeEnv>(async (c, next) => {
    const result = await authorizeRequest({
      headers: c.req.raw.headers,
      method: c.req.method,
      path: pathBelowMount(rawUrl(c), c.req.routePath),
    })
    if (result instanceof Response) return result
    c.set('keyhole', result)
    await next()
  })
}
