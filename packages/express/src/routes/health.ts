import { createAdminHandlers } from '@keyhole/core'
import type { RequestHandler } from 'express'
import { expressHandler } from '../admin.js'

/**
 * `GET /healthz`: answers `200 {"status":"ok"}` (never cached). It says the process serves
 * requests; it does not contact the revocation store or any upstream. Core's handler.
 *
 * @example
 * ```ts
 * import { health } from '@keyhole/express'
 * app.get('/healthz', health())
 * ```
 */
export function health(): RequestHandler {
  return expressHandler(createAdminHandlers().healthz)
}
