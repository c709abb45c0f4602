import type { RequestHandler } from 'express'

const BODY = '{"status":"ok"}'

/**
 * `GET /healthz`: answers `200 {"status":"ok"}` (never cached). It says the process serves
 * requests; it does not contact the revocation store or any upstream.
 *
 * @example
 * ```ts
 * import { health } from '@keyhole/express'
 * app.get('/healthz', health())
 * ```
 */
export function health(): RequestHandler {
  return (_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': BODY.length,
      'cache-control': 'no-store',
    })
    res.end(BODY)
  }
}
