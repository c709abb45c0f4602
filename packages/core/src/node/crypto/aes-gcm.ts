import { createDecipheriv } from 'node:crypto'

/**
 * AES-256-GCM decryption with a 96-bit IV and a 128-bit tag (JWA `A256GCM`, RFC 7518 §5.3).
 * Returns `undefined` unless the key, IV and tag have exactly those sizes and the tag verifies;
 * plaintext that failed authentication is zeroed, never returned.
 *
 * @example
 * ```ts
 * const plaintext = aesGcmDecrypt(cek, iv, ciphertext, tag, Buffer.from(protectedSegment, 'ascii'))
 * ```
 */
export function aesGcmDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array,
): Buffer | undefined {
  if (key.length !== 32 || iv.length !== 12 || tag.length !== 16) return undefined
  let plaintext: Buffer | undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 })
    decipher.setAAD(aad)
    decipher.setAuthTag(tag)
    plaintext = decipher.update(ciphertext)
    decipher.final()
    return plaintext
  } catch {
    plaintext?.fill(0)
    return undefined
  }
}
