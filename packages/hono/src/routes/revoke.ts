import { KeyholeError, type RevocationStore } from '@keyhole/core'
import type { Handler } from 'hono'
import { adminRoute } from '../admin-route.js'
import { readJson } from '../read-json.js'

/** Options of {@link revoke}: the store to write to (or an opener, whose store is used) and the admin token. */
export interface RevokeOptions {
  /** Where the revocation is recorded. Give this or `opener`. */
  store?: RevocationStore
  /** An opener from `createOpener()`; its `revocations` store is used when `store` is absent. */
  opener?: { readonly revocations: RevocationStore }
  /** The secret callers present as `Authorization: Bearer <adminToken>`. Required. */
  adminToken: string
}

/**
 * `POST /revoke` with `{"jti": "...", "exp": <token expiry, seconds since the epoch>}`: records the
 * revocation (kept until `exp`) and answers `200 {"revoked":true,"jti":...,"exp":...}`.
 * Without the right admin token: 401 `unauthorized`; a body that is not that JSON: 400 `bad_request`;
 * a store that cannot answer: 503 `revocation_unavailable`.
 *
 * @example
 * ```ts
 * import { revoke } from '@keyhole/hono'
 * app.post('/revoke', revoke({ opener, adminToken: process.env.KEYHOLE_ADMIN_TOKEN! }))
 * ```
 */
export function revoke(options: RevokeOptions): Handler {
  const store = options?.store ?? options?.opener?.revocations
  if (!store) throw new KeyholeError('bad_request', 'revoke() needs { store } or { opener }')
  return adminRoute(options.adminToken, 'revocation_unavailable', async (c) => {
    const body = await readJson(c.req.raw)
    const { jti, exp } = (body ?? {}) as { jti?: unknown; exp?: unknown }
    if (typeof jti !== 'string' || typeof exp !== 'number' || !Number.isFinite(exp) || exp <= 0) {
      throw new KeyholeError(
        'bad_request',
        'the body must be {"jti": string, "exp": seconds since the epoch}',
      )
    }
    // The store validates the jti itself (length, NUL, surrogates) with bad_request.
    await store.revoke(jti, new Date(exp * 1000))
    return Response.json({ revoked: true, jti, exp }, { headers: { 'cache-control': 'no-store' } })
  })
}
