import { createAdminHandlers, KeyholeError, type PublicKeySource } from '@keyhole/core'
import type { Handler } from 'hono'
import { honoHandler } from '../admin.js'

export type { PublicKeySource }

/**
 * `GET /.well-known/jwks.json`: the keyring's public encryption keys, `Cache-Control: public,
 * max-age=300`. The key set is read on every request, so keys added to or retired from the
 * keyring show up (after caches expire) without a restart. Only public members are served,
 * whatever the source holds. Core's handler.
 *
 * @example
 * ```ts
 * import { jwks } from '@keyhole/hono'
 * app.get('/.well-known/jwks.json', jwks(keyring))
 * ```
 */
export function jwks(keyring: PublicKeySource): Handler {
  if (!keyring) throw new KeyholeError('bad_request', 'jwks() needs a keyring')
  return honoHandler(createAdminHandlers({ keyring }).jwks)
}
