const NON_ASCII = /[^\x00-\x7f]/
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * The text of a base64url segment already known to use only the base64url alphabet (no padding),
 * decoded to exactly the bytes jose's `base64url.decode` gives (both go through `atob`, which
 * ignores the unused bits of a short final group and throws on a length of 4n+1) and then as fatal
 * UTF-8 (a leading BOM dropped, as jose's decoder does). Throws on anything it cannot decode.
 *
 * An ASCII-only result is its own UTF-8 decoding, so the byte copy and the decoder are skipped for
 * it: keyhole's own headers and claims always are, and this halves the cost of decoding them.
 * Anything else (a BOM included) takes the full path. Portable: `atob` and `TextDecoder` only.
 *
 * @example
 * ```ts
 * const header = JSON.parse(segmentText(token.slice(0, token.indexOf('.'))))
 * ```
 */
export function segmentText(segment: string): string {
  const binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/'))
  if (!NON_ASCII.test(binary)) return binary
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  try {
    return strictUtf8.decode(bytes)
  } finally {
    // The segment may be a grant's claims: do not leave its bytes in a buffer of ours.
    bytes.fill(0)
  }
}
