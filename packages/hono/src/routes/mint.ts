import { type Duration, KeyholeError, type Keyring, type MintGrant, mintDetailed } from '@keyhole/core'
import type { Handler } from 'hono'
import { adminRoute } from '../admin-route.js'
import { readJson } from '../read-json.js'

/** Options of {@link mint}. */
export interface MintRouteOptions {
  /** The proxy's keyring; tokens are encrypted to its newest key. */
  keyring: Keyring
  /** The secret callers present as `Authorization: Bearer <adminToken>`. Required. */
  adminToken: string
  /** Longest `ttl` a caller may ask for. Default `'1h'`. */
  maxTtl?: Duration
}

/**
 * `POST /mint` with a grant as JSON (`{hosts, paths?, methods?, inject, ttl, sub?, aud?, iss?, nbf?}`,
 * `nbf` in seconds): mints a token for the keyring's newest key and answers
 * `200 {"token","jti","exp"}`. The grant is validated by core's `mint` (400 `invalid_grant`
 * naming the problem, never echoing a credential); a `ttl` above `maxTtl` is refused the same way.
 * Without the right admin token: 401 `unauthorized`; a body that is not JSON: 400 `bad_request`.
 *
 * @example
 * ```ts
 * import { mint } from '@keyhole/hono'
 * app.post('/mint', mint({ keyring, adminToken: process.env.KEYHOLE_ADMIN_TOKEN!, maxTtl: '1h' }))
 * ```
 */
export function mint(options: MintRouteOptions): Handler {
  const { keyring } = options ?? {}
  if (!keyring) throw new KeyholeError('bad_request', 'mint() needs { keyring }')
  const maxTtl = options.maxTtl ?? '1h'
  return adminRoute(options.adminToken, 'invalid_grant', async (c) => {
    const grant = await readJson(c.req.raw)
    if (typeof grant !== 'object' || grant === null || Array.isArray(grant)) {
      throw new KeyholeError('bad_request', 'the body must be a grant object')
    }
    const { token, jti, exp } = await mintDetailed(grant as MintGrant, { to: keyring.publicJwks(), maxTtl })
    return Response.json({ token, jti, exp }, { headers: { 'cache-control': 'no-store' } })
  })
}
