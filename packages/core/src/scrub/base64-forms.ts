import { BASE64_ALPHABET, BASE64URL_ALPHABET, encodeBase64 } from './base64.js'

/**
 * The characters of base64 that depend on `bytes` alone when they sit `offset` bytes (0, 1 or 2
 * modulo 3) into a longer encoded text. Each base64 character carries 6 bits; a character that
 * also carries a bit of the unknown bytes before or after can be anything, so only the
 * characters wholly inside the secret's bits are stable: from bit `8·offset` rounded up to a
 * character, to bit `8·(offset + length)` rounded down.
 *
 * @example
 * ```ts
 * // 'user:pw' → 'dXNlcjpwdw==': the password sits 5 bytes in, i.e. at offset 2
 * stableBase64(utf8('pw'), 2, BASE64_ALPHABET) // 'wd' (characters 7 and 8)
 * ```
 */
export function stableBase64(bytes: Uint8Array, offset: 0 | 1 | 2, alphabet: string): string {
  const shifted = new Uint8Array(offset + bytes.length)
  shifted.set(bytes, offset)
  const start = Math.ceil((8 * offset) / 6)
  const end = Math.floor((8 * (offset + bytes.length)) / 6)
  return encodeBase64(shifted, alphabet, false).slice(start, end)
}

/**
 * Every base64 form of `bytes`: standard and URL-safe alphabets, the whole secret padded and
 * unpadded, and the stable middle at each of the three alignments the secret can have inside a
 * longer base64 text (a `Basic` credential, a JWT, a base64 blob of a JSON document, ...).
 *
 * @example
 * ```ts
 * base64Forms(utf8('sk-test-123')) // ['c2stdGVzdC0xMjM=', 'c2stdGVzdC0xMjM', 'c2stdGVzdC0xMj', ...]
 * ```
 */
export function base64Forms(bytes: Uint8Array): string[] {
  const forms: string[] = []
  for (const alphabet of [BASE64_ALPHABET, BASE64URL_ALPHABET]) {
    forms.push(encodeBase64(bytes, alphabet, true), encodeBase64(bytes, alphabet, false))
    for (const offset of [0, 1, 2] as const) forms.push(stableBase64(bytes, offset, alphabet))
  }
  return forms
}
