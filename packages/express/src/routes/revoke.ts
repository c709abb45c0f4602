import { createAdminHandlers, type Duration, KeyholeError, type RevocationStore } from '@keyhole/core'
import type { RequestHandler } from 'express'
import { type ClientAddress, expressHandler } from '../admin.js'

/** Options of {@link revoke}: the store to write to (or an opener, whose store is used) and the admin token. */
export interface RevokeOptions {
  /** Where the revocation is recorded. Give this or `opener`. */
  store?: RevocationStore
  /** An opener from `createOpener()`; its `revocations` store is used when `store` is absent. */
  opener?: { readonly revocations: RevocationStore }
  /** The secret callers present as `Authorization: Bearer <adminToken>`. Required, at least 32 bytes. */
  adminToken: string
  /** The longest token lifetime (the opener's `maxTtl`): a later `exp` is refused. Default `'24h'`. */
  maxTtl?: Duration
  /** The client's address, for rate-limiting failed attempts. Default: `req.ip`. */
  clientAddress?: ClientAddress
}

/**
 * `POST /revoke` with `{"jti": "...", "exp": <token expiry, seconds since the epoch>}` (no later
 * than `maxTtl` from now): records the revocation and answers `200 {"revoked":true,"jti","exp"}`.
 * `{"issuer": "<kid>"}` revokes every grant that issuer key signed (the id `issuer:<kid>`, kept for
 * `maxTtl`). Without the right admin token: 401 `unauthorized`, and 429 `rate_limited` after 10
 * failures a minute from one address (never for the right token); a bad body: 400 `bad_request`;
 * a store that cannot answer: 503 `revocation_unavailable`. Core's handler.
 *
 * @example
 * ```ts
 * import { revoke } from '@keyhole/express'
 * app.post('/revoke', revoke({ opener, adminToken: process.env.KEYHOLE_ADMIN_TOKEN! }))
 * ```
 */
export function revoke(options: RevokeOptions): RequestHandler {
  const store = options?.store ?? options?.opener?.revocations
  if (!store) throw new KeyholeError('bad_request', 'revoke() needs { store } or { opener }')
  if (options.adminToken === undefined) throw new KeyholeError('bad_request', 'revoke() needs { adminToken }')
  const handlers = createAdminHandlers({
    store,
    adminToken: options.adminToken,
    ...(options.maxTtl !== undefined && { maxTtl: options.maxTtl }),
  })
  return expressHandler(handlers.revoke, options.clientAddress)
}
