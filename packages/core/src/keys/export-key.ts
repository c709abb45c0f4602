import { exportPKCS8, exportSPKI, importJWK } from 'jose'
import { KeyholeError } from '../errors.js'
import type { KeyholePrivateJwk, KeyholePublicJwk } from '../types.js'
import { bareJwk, KEY_ALG, privateJwk, publicJwk } from './jwk.js'

/** Options of {@link exportKey}. */
export interface ExportKeyOptions {
  /** `'jwk'` (default): a plain JWK object. `'pem'`: PKCS#8 for a private key, SPKI for a public one. */
  format?: 'jwk' | 'pem'
}

/**
 * Exports a keyhole key as a JWK (a plain, unfrozen copy in keyhole's member order, ready for
 * `JSON.stringify`) or as PEM. A private key exports as a private key; pass `toPublicJwk(key)`
 * for its public half.
 *
 * @example
 * ```ts
 * const key = await generateKey()
 * writeFileSync('proxy-key.pem', await exportKey(key, { format: 'pem' }), { mode: 0o600 })
 * const spki = await exportKey(toPublicJwk(key), { format: 'pem' })
 * ```
 */
export function exportKey(
  key: KeyholePrivateJwk | KeyholePublicJwk,
  options: { format: 'pem' },
): Promise<string>
export function exportKey(
  key: KeyholePrivateJwk | KeyholePublicJwk,
  options?: { format?: 'jwk' },
): Promise<KeyholePrivateJwk | KeyholePublicJwk>
export function exportKey(
  key: KeyholePrivateJwk | KeyholePublicJwk,
  options?: ExportKeyOptions,
): Promise<string | KeyholePrivateJwk | KeyholePublicJwk>
export async function exportKey(
  key: KeyholePrivateJwk | KeyholePublicJwk,
  options: ExportKeyOptions = {},
): Promise<string | KeyholePrivateJwk | KeyholePublicJwk> {
  const bare = bareJwk(key)
  if (bare.kid === undefined)
    throw new KeyholeError('invalid_key', 'the key has no key id (kid); import it first')
  const format = options.format ?? 'jwk'
  if (format === 'jwk') {
    const jwk =
      bare.d === undefined
        ? publicJwk(bare, bare.kid)
        : privateJwk(bare as typeof bare & { d: string }, bare.kid)
    return { ...jwk }
  }
  if (format !== 'pem') throw new KeyholeError('bad_request', 'format must be "jwk" or "pem"')
  const { kid: _kid, ...material } = bare
  let cryptoKey: CryptoKey
  try {
    cryptoKey = (await importJWK({ ...material, ext: true }, KEY_ALG, { extractable: true })) as CryptoKey
  } catch {
    throw new KeyholeError('invalid_key', 'the key is not a valid P-256 or X25519 key')
  }
  return bare.d === undefined ? exportSPKI(cryptoKey) : exportPKCS8(cryptoKey)
}
