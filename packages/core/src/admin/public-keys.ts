import type { KeyholePublicJwk, PublicJwks } from '../types.js'

/** Anything that can list public keys, such as a core `Keyring`. */
export interface PublicKeySource {
  publicJwks(): PublicJwks
}

// The only members a keyhole public key has. Anything else (above all `d`) never leaves.
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'] as const

/**
 * The encryption keys of `source` as served at `/.well-known/jwks.json`: public members only,
 * whatever the source holds, and no key marked `use: 'sig'` (issuer keys are published apart, for
 * proxies that trust the issuer; minters encrypt to these).
 */
export function publicEncryptionKeys(source: PublicKeySource): { keys: KeyholePublicJwk[] } {
  const keys: KeyholePublicJwk[] = []
  for (const key of source.publicJwks().keys) {
    if ((key as { use?: unknown }).use === 'sig') continue
    const out: Record<string, unknown> = {}
    for (const name of PUBLIC_MEMBERS) if (key[name] !== undefined) out[name] = key[name]
    keys.push(out as unknown as KeyholePublicJwk)
  }
  return { keys }
}
