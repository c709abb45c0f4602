import { type AuthorizedRequest, createRequestAuthorizer, type RequestAuthorizerOptions } from '@keyhole/core'
import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { rawUrl } from './keyhole.js'
import { pathBelowMount } from './mount-path.js'

/**
 * Options of {@link keyholeAuth}: `opener` and `upstream` (required), `tokenHeaders`,
 * `allowHosts` and `allowPrivateAddresses`, read exactly as the engine (`keyhole()`) reads them.
 */
export type KeyholeAuthOptions = RequestAuthorizerOptions

/**
 * What {@link keyholeAuth} puts on the context as `c.var.keyhole`:
 * `{ grant, target, prepare(request?), scrub(response) }` (and the older `inject(headers, url?)`).
 * `prepare()` defaults to the incoming request (`c.req.raw`).
 */
export type KeyholeContext = AuthorizedRequest

/** The Hono environment {@link keyholeAuth} adds: `c.var.keyhole`. */
export interface KeyholeEnv {
  Variables: { keyhole: KeyholeContext }
}

/**
 * Middleware for gateways that forward requests themselves. Runs the engine's own pipeline
 * stages — reads the token (`X-Keyhole-Token`, `Authorization: Bearer`, `Proxy-Authorization`, then `tokenHeaders`),
 * opens it (signature, expiry and revocation are the opener's), authorizes `upstream` + the path
 * below the mount point against the grant and `allowHosts` — so it refuses exactly what
 * `keyhole()` would, with the same status and `X-Keyhole-Error` JSON response; the next handler
 * never runs then. Otherwise sets `c.var.keyhole = { grant, target, prepare, scrub }`:
 * `await prepare()` is the outgoing request (headers stripped as the engine strips them,
 * credentials applied, `redirect: 'manual'`), and `scrub(response)` is what goes back.
 *
 * A `KeyholeError` that `prepare()`, `scrub()` or `inject()` throws in the handler (a `body`
 * credential on a request without a body, `body_too_large`, an OAuth2 token endpoint that
 * fails, ...) and the handler lets through is answered the same way: the engine's JSON error
 * response with its status and `X-Keyhole-Error`, in place of what `app.onError` returned (Hono
 * calls it first). Every other error is left to `app.onError` as usual.
 *
 * @example
 * ```ts
 * import { keyholeAuth } from '@keyhole/hono'
 *
 * app.use('/github/*', keyholeAuth({ opener, upstream: 'https://api.github.com' }))
 * app.all('/github/*', async (c) => {
 *   const upstream = await fetch(await c.var.keyhole.prepare())
 *   return c.var.keyhole.scrub(upstream)
 * })
 * ```
 */
export function keyholeAuth(options: KeyholeAuthOptions): MiddlewareHandler<KeyholeEnv> {
  const authorizeRequest = createRequestAuthorizer(options)
  return createMiddleware<KeyholeEnv>(async (c, next) => {
    const result = await authorizeRequest(c.req.raw, { path: pathBelowMount(rawUrl(c), c.req.routePath) })
    if (result instanceof Response) return result
    c.set('keyhole', result)
    await next()
    // A handler's error reaches here as c.error, with c.res what app.onError made of it.
    const response = c.error === undefined ? undefined : result.errorResponse(c.error)
    if (response !== undefined) {
      // Headers other middleware set on the response are kept (Hono merges them in); the error
      // response's own win, and a length the onError response declared is not ours.
      c.res = response
      c.res.headers.delete('content-length')
      for (const [name, value] of response.headers) c.res.headers.set(name, value)
    }
  })
}
