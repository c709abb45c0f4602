import type { Handler } from 'hono'

/**
 * `GET /healthz`: answers `200 {"status":"ok"}` (never cached). It says the process serves
 * requests; it does not contact the revocation store or any upstream.
 *
 * @example
 * ```ts
 * import { health } from '@keyhole/hono'
 * app.get('/healthz', health())
 * ```
 */
export function health(): Handler {
  return () =>
    new Response('{"status":"ok"}', {
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    })
}
