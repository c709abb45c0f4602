import type { ServerResponse } from 'node:http'
import {
  type AuthorizedRequest,
  createRequestAuthorizer,
  headersFromRaw,
  type RequestAuthorizerOptions,
} from '@keyhole/core'
import type { NextFunction, Request, RequestHandler } from 'express'
import { sendResponse } from './send-response.js'

/** Options of {@link keyholeAuth}: `opener` and `upstream` (required), `tokenHeaders` (default none). */
export type KeyholeAuthOptions = RequestAuthorizerOptions

/** What {@link keyholeAuth} puts on the request as `req.keyhole`: `{ grant, target, inject(headers, url?) }`. */
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
 * Middleware for gateways that forward requests themselves: reads the token (`X-Keyhole-Token`,
 * `Authorization: Bearer`, then `tokenHeaders`), opens it (expiry and revocation are enforced by
 * the opener) and authorizes `upstream` + `req.url`, then sets
 * `req.keyhole = { grant, target, inject }`. A refused request gets the engine's JSON error
 * response (`X-Keyhole-Error`) and never reaches the next handler. Mount with `app.use(prefix, ...)`.
 *
 * @example
 * ```ts
 * import { keyholeAuth } from '@keyhole/express'
 *
 * app.use('/github', keyholeAuth({ opener, upstream: 'https://api.github.com' }), async (req, res) => {
 *   const url = new URL(req.keyhole!.target)
 *   const headers = new Headers({ accept: 'application/json' })
 *   req.keyhole!.inject(headers, url)
 *   const upstream = await fetch(url, { headers, redirect: 'manual' })
 *   res.status(upstream.status).send(Buffer.from(await upstream.arrayBuffer()))
 * })
 * ```
 */
export function keyholeAuth(options: KeyholeAuthOptions): RequestHandler {
  const authorizeRequest = createRequestAuthorizer(options)
  return (req: Request, res: ServerResponse, next: NextFunction) => {
    authorizeRequest({ headers: headersFromRaw(req.rawHeaders), method: req.method, path: req.url }).then(
      (result) => {
        if (result instanceof Response) return sendResponse(res, result).catch(next)
        req.keyhole = result
        next()
      },
      next,
    )
  }
}
