import type { ServerResponse } from 'node:http'
import { createProxy, type ProxyOptions } from '@keyhole/core'
import {
  closeSignal,
  createNodeForwarder,
  type NodeForwarderOptions,
  requestFromIncoming,
} from '@keyhole/core/node'
import type { NextFunction, Request, RequestHandler } from 'express'
import { sendResponse } from './send-response.js'

/**
 * Options of {@link keyhole}: the engine's (`createProxy`) options. `forward` defaults to the
 * Node forwarder of `@keyhole/core/node` (keep-alive `node:http`, byte-exact paths, the dialed
 * address checked against the private-address policy).
 */
export interface KeyholeOptions extends ProxyOptions {
  /**
   * Options for the default node forwarder (agent/TLS options, a custom `lookup`). Ignored when
   * `forward` is given. Default: none.
   */
  forwarderOptions?: NodeForwarderOptions
}

/** The Express middleware {@link keyhole} returns. */
export interface KeyholeMiddleware extends RequestHandler {
  /** Closes the default forwarder's pooled keep-alive connections (for shutdown). */
  close(): void
}

/**
 * The keyhole proxy engine as Express middleware. Mount it with `app.use(prefix, keyhole(...))`:
 * the raw path and query below the prefix (`req.url`, percent-encoding untouched) is where the
 * engine reads the target from. Needs no body parser in front of it (and a body parser in front
 * of it would consume the body it must stream); bodies stream both ways with backpressure.
 * Everything security-relevant (token, policy, revocation, expiry, header stripping, credential
 * injection) happens inside the engine.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { keyhole } from '@keyhole/express'
 *
 * const app = express()
 * app.use('/proxy', keyhole({ opener }))
 * // GET /proxy/https/api.github.com/user  with  X-Keyhole-Token: <token>
 * ```
 */
export function keyhole(options: KeyholeOptions): KeyholeMiddleware {
  const { forwarderOptions, ...engineOptions } = options ?? ({} as KeyholeOptions)
  // With the node forwarder (the default), bodies stay Node streams end to end: the request is
  // piped into the upstream request and the upstream response into `res`.
  const own = engineOptions.forward === undefined ? createNodeForwarder(forwarderOptions) : undefined
  const handle = createProxy({ ...engineOptions, forward: own ?? engineOptions.forward })
  const middleware = (req: Request, res: ServerResponse, next: NextFunction) => {
    const signal = closeSignal(res)
    // Something in front (express.json(), a logger) may have read the body: forwarding would send
    // an empty body under the original Content-Length, so the engine answers 400 bad_request.
    const bodyRead = req.readableEnded && declaresBody(req)
    const context = bodyRead ? { path: req.url, signal, bodyRead } : { path: req.url, signal }
    handle(requestFromIncoming(req, signal, own !== undefined), context)
      .then((response) => sendResponse(res, response))
      .catch(next)
  }
  return Object.assign(middleware, { close: () => own?.destroy() })
}

function declaresBody(req: Request): boolean {
  const length = req.headers['content-length']
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined
}
