import type { KeyholePublicJwk, PublicJwks } from '@keyhole/core'
import type { RequestHandler } from 'express'

/** Anything that can list public keys, such as a core `Keyring`. */
export interface PublicKeySource {
  publicJwks(): PublicJwks
}

// The only members a keyhole public key has. Anything else (above all `d`) never leaves.
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'] as const

/**
 * `GET /.well-known/jwks.json`: the keyring's public keys, `Cache-Control: public, max-age=300`.
 * The key set is read on every request, so keys added to or retired from the keyring show up
 * (after caches expire) without a restart. Only public members are served, whatever the source holds.
 *
 * @example
 * ```ts
 * import { jwks } from '@keyhole/express'
 * app.get('/.well-known/jwks.json', jwks(keyring))
 * ```
 */
export function jwks(keyring: PublicKeySource): RequestHandler {
  return (_req, res) => {
    const body = JSON.stringify({ keys: keyring.publicJwks().keys.map(publicOnly) })
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'public, max-age=300',
    })
    res.end(body)
  }
}

function publicOnly(key: KeyholePublicJwk): KeyholePublicJwk {
  const out: Record<string, unknown> = {}
  for (const name of PUBLIC_MEMBERS) if (key[name] !== undefined) out[name] = key[name]
  return out as unknown as KeyholePublicJwk
}
