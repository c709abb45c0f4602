import { exportJWK, generateKeyPair } from 'jose'
import { KeyholeError } from '../errors.js'
import type { IssuerAlg, KeyCurve, KeyholeIssuerPrivateJwk, KeyholePrivateJwk } from '../types.js'
import { detachedKey } from './detached-key.js'
import { type BareIssuerJwk, bareIssuerJwk, privateIssuerJwk, verifiedIssuerKid } from './issuer-jwk.js'
import { bareJwk, KEY_ALG, privateJwk, thumbprint } from './jwk.js'

/** Options of {@link generateKey}. */
export interface GenerateKeyOptions {
  /**
   * `'enc'` (default): a proxy's decryption key. `'sig'`: an issuer key that signs grants
   * (`mint(grant, { to, signWith })`); the two are never the same key.
   */
  use?: 'enc' | 'sig'
  /**
   * For `use: 'enc'`: `'P-256'` (default) interoperates with every JOSE stack; `'X25519'` opens
   * tokens faster where the runtime supports it (Node 20+, recent browsers, Deno, Bun, Workers).
   * For `use: 'sig'`, `'X25519'` picks EdDSA (Ed25519), as `keyhole keygen --curve X25519` does.
   */
  curve?: KeyCurve
  /** For `use: 'sig'`: `'ES256'` (default, P-256) or `'EdDSA'` (Ed25519). Wins over `curve`. */
  alg?: IssuerAlg
}

/**
 * Generates a key pair and returns the private JWK, frozen, with `kid` set to its RFC 7638
 * thumbprint. By default a decryption key (`alg: 'ECDH-ES+A256KW'`, `use: 'enc'`) for a
 * keyring; with `use: 'sig'` an issuer key (`alg: 'ES256'` or `'EdDSA'`) that signs grants.
 * Keep it secret; share `keyring.publicJwks()` or `toPublicJwk(key)` instead.
 *
 * @example
 * ```ts
 * const key = await generateKey()                       // P-256 decryption key
 * const fast = await generateKey({ curve: 'X25519' })
 * const issuer = await generateKey({ use: 'sig' })      // ES256 issuer key
 * const token = await mint(grant, { to: createKeyring([key]).publicJwks(), signWith: issuer })
 * ```
 */
export async function generateKey(
  options: GenerateKeyOptions & { use: 'sig' },
): Promise<KeyholeIssuerPrivateJwk>
export async function generateKey(options?: GenerateKeyOptions & { use?: 'enc' }): Promise<KeyholePrivateJwk>
export async function generateKey(
  options?: GenerateKeyOptions,
): Promise<KeyholePrivateJwk | KeyholeIssuerPrivateJwk>
export async function generateKey(
  options: GenerateKeyOptions = {},
): Promise<KeyholePrivateJwk | KeyholeIssuerPrivateJwk> {
  const curve = options.curve ?? 'P-256'
  if (curve !== 'P-256' && curve !== 'X25519') {
    throw new KeyholeError('invalid_key', 'curve must be "P-256" or "X25519"')
  }
  if (options.use === 'sig') {
    const alg = options.alg ?? (curve === 'X25519' ? 'EdDSA' : 'ES256')
    if (alg !== 'ES256' && alg !== 'EdDSA')
      throw new KeyholeError('invalid_key', 'alg must be "ES256" or "EdDSA"')
    const { privateKey } = await generateKeyPair(alg, {
      extractable: true,
      ...(alg === 'EdDSA' && { crv: 'Ed25519' }),
    })
    const bare = bareIssuerJwk({
      ...(await exportJWK(await detachedKey(privateKey as CryptoKey))),
      alg,
    }) as BareIssuerJwk & {
      d: string
    }
    return privateIssuerJwk(bare, await verifiedIssuerKid(bare))
  }
  if (options.use !== undefined && options.use !== 'enc') {
    throw new KeyholeError('invalid_key', 'use must be "enc" or "sig"')
  }
  const { privateKey } = await generateKeyPair(KEY_ALG, { crv: curve, extractable: true })
  const bare = bareJwk(await exportJWK(await detachedKey(privateKey as CryptoKey))) as ReturnType<
    typeof bareJwk
  > & {
    d: string
  }
  return privateJwk(bare, await thumbprint(bare))
}
