import { createAdminHandlers, KeyholeError, type PublicKeySource } from '@keyhole/core'
import type { RequestHandler } from 'express'
import { expressHandler } from '../admin.js'

export type { PublicKeySource }

/**
 * `GET /.well-known/jwks.json`: the keyring's public encryption keys, `Cache-Control: public,
 * max-age=300`. The key set is read on every request, so keys added to or retired from the
 * keyring show up (after caches expire) without a restart. Only public members are served,
 * whatever the source holds. Core's handler.
 *
 * @example
 * ```ts
 * import { jwks } from '@keyhole/express'
 * app.get('/.well-known/jwks.json', jwks(keyring))
 * ```
 */
export function jwks(keyring: PublicKeySource): RequestHandler {
  if (!keyring) throw new KeyholeError('bad_request', 'jwks() needs a keyring')
  return expressHandler(createAdminHandlers({ keyring }).jwks)
}
