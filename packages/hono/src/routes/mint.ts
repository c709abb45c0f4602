import {
  createAdminHandlers,
  type Duration,
  KeyholeError,
  type Keyring,
  type MintOptions,
} from '@keyhole/core'
import type { Handler } from 'hono'
import { type ClientAddress, honoHandler } from '../admin.js'

/** Options of {@link mint}. */
export interface MintRouteOptions {
  /** The proxy's keyring; tokens are encrypted to its newest key. */
  keyring: Keyring
  /** The secret callers present as `Authorization: Bearer <adminToken>`. Required, at least 32 bytes. */
  adminToken: string
  /** Longest `ttl` a caller may ask for. Default `'1h'`. */
  maxTtl?: Duration
  /** The issuer key minted grants are signed with (`generateKey({ use: 'sig' })`). Without it they are unsigned. */
  signWith?: MintOptions['signWith']
  /** The client's address, for rate-limiting failed attempts. Default: the socket's, on `@hono/node-server`. */
  clientAddress?: ClientAddress
}

/**
 * `POST /mint` with a grant as JSON (`{hosts, paths?, methods?, inject, ttl, sub?, aud?, iss?, nbf?}`,
 * `nbf` in seconds): mints a token for the keyring's newest key, signed with `signWith`, and
 * answers `200 {"token","jti","exp"}`. A bad grant is 400 `invalid_grant` naming the field by
 * position, never quoting what was sent; a `ttl` above `maxTtl` is refused the same way.
 * Without the right admin token: 401 `unauthorized`, and 429 `rate_limited` after 10 failures a
 * minute from one address. Core's handler.
 *
 * @example
 * ```ts
 * import { mint } from '@keyhole/hono'
 * app.post('/mint', mint({ keyring, signWith: issuerKey, adminToken: process.env.KEYHOLE_ADMIN_TOKEN!, maxTtl: '1h' }))
 * ```
 */
export function mint(options: MintRouteOptions): Handler {
  const { keyring, adminToken, maxTtl, signWith, clientAddress } = options ?? ({} as MintRouteOptions)
  if (!keyring) throw new KeyholeError('bad_request', 'mint() needs { keyring }')
  if (adminToken === undefined) throw new KeyholeError('bad_request', 'mint() needs { adminToken }')
  const handlers = createAdminHandlers({
    keyring,
    adminToken,
    ...(maxTtl !== undefined && { mintMaxTtl: maxTtl }),
    ...(signWith !== undefined && { signWith }),
  })
  return honoHandler(handlers.mint, clientAddress)
}
