import { exportJWK, generateKeyPair } from 'jose'
import { KeyholeError } from '../errors.js'
import type { KeyCurve, KeyholePrivateJwk } from '../types.js'
import { bareJwk, KEY_ALG, privateJwk, thumbprint } from './jwk.js'

/** Options of {@link generateKey}. */
export interface GenerateKeyOptions {
  /**
   * `'P-256'` (default) interoperates with every JOSE stack; `'X25519'` opens tokens faster
   * where the runtime supports it (Node 20+, recent browsers, Deno, Bun, Workers).
   */
  curve?: KeyCurve
}

/**
 * Generates a keyhole key pair and returns the private JWK: `kid` is its RFC 7638 thumbprint,
 * `alg` is `ECDH-ES+A256KW`, `use` is `enc`. The object is frozen. Keep it secret; share
 * `keyring.publicJwks()` or `toPublicJwk(key)` instead.
 *
 * @example
 * ```ts
 * const key = await generateKey()                       // P-256
 * const fast = await generateKey({ curve: 'X25519' })
 * const keyring = createKeyring([key])
 * ```
 */
export async function generateKey(options: GenerateKeyOptions = {}): Promise<KeyholePrivateJwk> {
  const curve = options.curve ?? 'P-256'
  if (curve !== 'P-256' && curve !== 'X25519') {
    throw new KeyholeError('invalid_key', 'curve must be "P-256" or "X25519"')
  }
  const { privateKey } = await generateKeyPair(KEY_ALG, { crv: curve, extractable: true })
  const bare = bareJwk(await exportJWK(privateKey)) as ReturnType<typeof bareJwk> & { d: string }
  return privateJwk(bare, await thumbprint(bare))
}
