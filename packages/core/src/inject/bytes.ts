const encoder = new TextEncoder()

/**
 * UTF-8 bytes of a string.
 *
 * @example
 * ```ts
 * utf8('é') // Uint8Array [0xc3, 0xa9]
 * ```
 */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text)
}

/**
 * Standard base64 (with padding) of bytes, without `node:buffer` so it runs on every runtime.
 *
 * @example
 * ```ts
 * toBase64(utf8('user:pass')) // 'dXNlcjpwYXNz'
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = ''
  // Chunked: String.fromCharCode(...bytes) overflows the call stack on large inputs.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

/**
 * Lower-case hex of bytes.
 *
 * @example
 * ```ts
 * toHex(new Uint8Array([0, 255])) // '00ff'
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0')
  return out
}
