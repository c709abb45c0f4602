import { createDecipheriv } from 'node:crypto'

// RFC 3394 §2.2.3.1 default initial value.
const DEFAULT_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex')

/**
 * AES Key Unwrap (RFC 3394) with a 256-bit key-encryption key, through OpenSSL's `id-aes256-wrap`.
 * Returns `undefined` when the integrity check fails (wrong key, altered input) or the input is not
 * a whole number of 64-bit blocks of at least two blocks plus the check block.
 *
 * @example
 * ```ts
 * const cek = aesKeyUnwrap(kek, encryptedKey)
 * if (!cek) throw new KeyholeError('invalid_token', 'invalid token')
 * ```
 */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Buffer | undefined {
  if (kek.length !== 32 || wrapped.length < 24 || wrapped.length % 8 !== 0) return undefined
  try {
    const decipher = createDecipheriv('id-aes256-wrap', kek, DEFAULT_IV)
    // OpenSSL unwraps the whole input in update() and checks integrity there; final() adds nothing.
    const key = decipher.update(wrapped)
    decipher.final()
    return key
  } catch {
    return undefined
  }
}
