/**
 * The standard alphabet (RFC 4648 §4).
 *
 * @example
 * ```ts
 * encodeBase64(bytes, BASE64_ALPHABET, true) // like btoa
 * ```
 */
export const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
/**
 * The URL- and filename-safe alphabet (RFC 4648 §5).
 *
 * @example
 * ```ts
 * encodeBase64(bytes, BASE64URL_ALPHABET, false) // like Buffer's 'base64url'
 * ```
 */
export const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * Base64 of `bytes` in `alphabet`, with `=` padding when `pad` is true. Written out here rather
 * than with `btoa` because the universal entry has no `Buffer`, and `btoa` wants a binary string
 * and knows one alphabet only.
 *
 * @example
 * ```ts
 * encodeBase64(utf8('ab'), BASE64_ALPHABET, true)     // 'YWI='
 * encodeBase64(utf8('ab'), BASE64URL_ALPHABET, false) // 'YWI'
 * ```
 */
export function encodeBase64(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (pad ? '==' : '')
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? '=' : '')
  }
  return out
}
