import type { KeyholePublicJwk, PublicJwks } from '@keyhole/core'
import type { Handler } from 'hono'

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
 * import { jwks } from '@keyhole/hono'
 * app.get('/.well-known/jwks.json', jwks(keyring))
 * ```
 */
export function jwks(keyring: PublicKeySource): Handler {
  return () => {
    const keys = keyring.publicJwks().keys.map(publicOnly)
    return new Response(JSON.stringify({ keys }), {
      headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
    })
  }
}

function publicOnly(key: KeyholePublicJwk): KeyholePublicJwk {
  const out: Record<string, unknown> = {}
  for (const name of PUBLIC_MEMBERS) if (key[name] !== undefined) out[name] = key[name]
  return out as unknown as KeyholePublicJwk
}
