import { createAdminHandlers } from '@keyhole/core'
import type { Handler } from 'hono'
import { honoHandler } from '../admin.js'

/**
 * `GET /healthz`: answers `200 {"status":"ok"}` (never cached). It says the process serves
 * requests; it does not contact the revocation store or any upstream. Core's handler.
 *
 * @example
 * ```ts
 * import { health } from '@keyhole/hono'
 * app.get('/healthz', health())
 * ```
 */
export function health(): Handler {
  return honoHandler(createAdminHandlers().healthz)
}
