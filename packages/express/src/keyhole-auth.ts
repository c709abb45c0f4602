import type { ServerResponse } from 'node:http'
import { type AuthorizedRequest, createRequestAuthorizer, type RequestAuthorizerOptions } from '@keyhole/core'
import { closeSignal, requestFromIncoming } from '@keyhole/core/node'
import type { NextFunction, Request, RequestHandler } from 'express'
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
 * `app.use(prefix, ...)`, before any body parser if `prepare()` is to forward the body.
 *
 * @example
 * ```ts
 * import { keyholeAuth } from '@keyhole/express'
 *
 * app.use('/github', keyholeAuth({ opener, upstream: 'https://api.github.com' }), async (req, res) => {
 *   const upstream = req.keyhole!.scrub(await fetch(await req.keyhole!.prepare()))
 *   res.status(upstream.status).send(Buffer.from(await upstream.arrayBuffer()))
 * })
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
