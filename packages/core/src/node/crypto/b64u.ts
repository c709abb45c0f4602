const ALPHABET = /^[A-Za-z0-9_-]*$/

// Value of each base64url character, so the bits a short final group leaves over can be checked.
const VALUES = new Uint8Array(128)
for (let i = 0; i < 64; i++) {
  VALUES['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i
}

/**
 * Whether `input` uses only the base64url alphabet (no padding, no whitespace; empty is fine).
 *
 * @example
 * ```ts
 * isB64uAlphabet('aGk')   // true
 * isB64uAlphabet('aGk=')  // false
 * ```
 */
export function isB64uAlphabet(input: string): boolean {
  return ALPHABET.test(input)
}

/**
 * Decodes canonical, unpadded base64url (RFC 7515 §2) and returns `undefined` for anything else.
 *
 * Stricter than `Buffer.from(s, 'base64url')` (which skips characters it does not know) and than
 * `atob` (which skips whitespace, accepts `=` padding and ignores the leftover bits of a short final
 * group): each byte string has exactly one accepted encoding, so a token cannot be re-spelled.
 *
 * @example
 * ```ts
 * decodeB64u('aGk')   // Buffer <68 69>
 * decodeB64u('aGl')   // undefined: non-zero leftover bits
 * decodeB64u('aGk=')  // undefined: padding
 * ```
 */
export function decodeB64u(input: string): Buffer | undefined {
  if (!ALPHABET.test(input)) return undefined
  return decodeAlphabetB64u(input)
}

/**
 * {@link decodeB64u} for a string already known to use only the base64url alphabet (the opener's
 * `checkHeader` tested every segment of the token): the same canonical-form checks and result,
 * without scanning the characters a second time.
 *
 * @internal
 * @example
 * ```ts
 * const ciphertext = decodeAlphabetB64u(token.slice(d3 + 1, d4))
 * ```
 */
export function decodeAlphabetB64u(input: string): Buffer | undefined {
  const rest = input.length & 3
  if (rest === 1) return undefined
  if (rest !== 0) {
    // Two characters carry 12 bits for one byte (4 left over), three carry 18 for two (2 left over).
    const leftover = VALUES[input.charCodeAt(input.length - 1)]! & (rest === 2 ? 0x0f : 0x03)
    if (leftover !== 0) return undefined
  }
  return Buffer.from(input, 'base64url')
}
