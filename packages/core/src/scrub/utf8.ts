const encoder = new TextEncoder()

/**
 * The UTF-8 bytes of `text`, as the wire carries them. A lone surrogate becomes U+FFFD, as in
 * every web encoder, so a secret and its echo encode alike.
 *
 * @example
 * ```ts
 * utf8('é') // Uint8Array [0xc3, 0xa9]
 * ```
 */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text)
}
