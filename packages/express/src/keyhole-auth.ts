import type { ServerResponse } from 'node:http'
import { type AuthorizedRequest, createRequestAuthorizer, type RequestAuthorizerOptions } from '@keyhole/core'
import { closeSignal, requestFromIncoming } from '@keyhole/core/node'
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler } from 'express'
import { sendResponse } from './send-response.js'

/**
 * Options of {@link keyholeAuth}: `opener` and `upstream` (required), `tokenHeaders`,
 * `allowHosts` and `allowPrivateAddresses`, read exactly as the engine (`keyhole()`) reads them.
 */
export type KeyholeAuthOptions = RequestAuthorizerOptions

/**
 * What {@link keyholeAuth} puts on the request as `req.keyhole`:
 * `{ grant, target, prepare(request?), scrub(response) }` (and the older `inject(headers, url?)`).
 * `prepare()` defaults to a web `Request` over the incoming one (its body streamed, not read).
 */
export type KeyholeContext = AuthorizedRequest

declare global {
  namespace Express {
    interface Request {
      /** Set by `keyholeAuth()` from `@keyhole/express` once the request's token is authorized. */
      keyhole?: KeyholeContext
    }
  }
}

/**
 * Middleware for gateways that forward requests themselves. Runs the engine's own pipeline
 * stages — reads the token (`X-Keyhole-Token`, `Authorization: Bearer`, `Proxy-Authorization`, then `tokenHeaders`),
 * opens it (signature, expiry and revocation are the opener's), authorizes `upstream` +
 * `req.url` against the grant and `allowHosts` — so it refuses exactly what `keyhole()` would,
 * with the same status and `X-Keyhole-Error` JSON response; the next handler never runs then.
 * Otherwise sets `req.keyhole = { grant, target, prepare, scrub }`: `await prepare()` is the
 * outgoing web `Request` (headers stripped as the engine strips them, credentials applied,
 * `redirect: 'manual'`), and `scrub(response)` is what goes back. Mount with
 * `app.use(prefix, ...)`, before any body parser if `prepare()` is to forward the body, and
 * put {@link keyholeErrors} after the handler so that what `prepare()` or `scrub()` throws is
 * answered in the engine's error shape too.
 *
 * @example
 * ```ts
 * import { keyholeAuth, keyholeErrors } from '@keyhole/express'
 *
 * app.use('/github', keyholeAuth({ opener, upstream: 'https://api.github.com' }), async (req, res) => {
 *   const upstream = req.keyhole!.scrub(await fetch(await req.keyhole!.prepare()))
 *   res.status(upstream.status).send(Buffer.from(await upstream.arrayBuffer()))
 * })
 * app.use('/github', keyholeErrors())
 * ```
 */
export function keyholeAuth(options: KeyholeAuthOptions): RequestHandler {
  const authorizeRequest = createRequestAuthorizer(options)
  return (req: Request, res: ServerResponse, next: NextFunction) => {
    // A lazy view: the token is read from rawHeaders; the body is streamed only if prepare() is used.
    const request = requestFromIncoming(req, closeSignal(res))
    authorizeRequest(request, { path: req.url }).then((result) => {
      if (result instanceof Response) return sendResponse(res, result).catch(next)
      req.keyhole = result
      next()
    }, next)
  }
}

/**
 * Error middleware for {@link keyholeAuth}: a `KeyholeError` that `req.keyhole.prepare()`,
 * `scrub()` or `inject()` threw (a `body` credential on a request without a body,
 * `body_too_large`, an OAuth2 token endpoint that fails, ...) and the handler passed on — by
 * throwing or rejecting (Express 5 forwards both) or calling `next(error)` — is answered with the
 * engine's JSON error response: the code's status, `{"error":{"code","message"}}` and
 * `X-Keyhole-Error`, the message never echoing the token or a credential. Every other error, and
 * one that comes after the response has started, goes on to the next error handler untouched.
 * Express cannot run it by itself: mount it after the handler, with its own `app.use` (so the
 * handler's parameters stay typed), or once after all routes with `app.use(keyholeErrors())`.
 *
 * @example
 * ```ts
 * app.use('/github', keyholeAuth({ opener, upstream }), handler)
 * app.use('/github', keyholeErrors())
 * ```
 */
export function keyholeErrors(): ErrorRequestHandler {
  return (error: unknown, req: Request, res: ServerResponse, next: NextFunction) => {
    const response = req.keyhole?.errorResponse(error)
    if (response === undefined || res.headersSent) return next(error)
    sendResponse(res, response).catch(next)
  }
}
