const NON_ASCII = /[^\x00-\x7f]/
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** A base64url decoder: the segment's bytes. */
export type BytesOf = (segment: string) => Uint8Array
interface NodeLikeProcess {
  getBuiltinModule?: (
    id: string,
  ) => { Buffer?: { from(input: string, encoding: string): Uint8Array } } | undefined
}

let detected: BytesOf | null | undefined

/**
 * Node's native base64url decoder, reached through `process.getBuiltinModule` (so core imports
 * nothing platform-specific), or `null` where there is none or it does not decode like `atob`.
 * About four times cheaper than `atob` after rewriting the alphabet (no intermediate strings).
 *
 * @internal
 * @example
 * ```ts
 * const bytes = nativeBytes()?.('aGk') // Uint8Array [0x68, 0x69] on Node
 * ```
 */
export function nativeBytes(): BytesOf | null {
  if (detected !== undefined) return detected
  detected = null
  try {
    const proc = (globalThis as { process?: NodeLikeProcess }).process
    const NodeBuffer = proc?.getBuiltinModule?.('node:buffer')?.Buffer
    // Both URL-safe characters, and a final '9' with non-zero unused bits that, like atob, the
    // decoder must ignore: the same bytes as atob, or the native decoder is not used.
    const probe = NodeBuffer?.from('aGl-_9', 'base64url')
    const expected = atob('aGl+/9')
    if (probe && probe.length === expected.length && probe.every((b, i) => b === expected.charCodeAt(i))) {
      detected = (segment) => NodeBuffer!.from(segment, 'base64url')
    }
  } catch {
    // No usable native decoder here: atob it is.
  }
  return detected
}

/**
 * The text of a base64url segment already known to use only the base64url alphabet (no padding),
 * decoded to exactly the bytes jose's `base64url.decode` gives (it goes through `atob`, which
 * ignores the unused bits of a short final group and refuses a length of 4n+1) and then as fatal
 * UTF-8 (a leading BOM dropped, as jose's decoder does). Throws on anything it cannot decode.
 *
 * On Node (and runtimes with its `node:buffer`) the bytes come from the native decoder, which for
 * a string of this alphabet and length gives the same bytes as `atob`; elsewhere from `atob`, where
 * an ASCII-only result is its own UTF-8 decoding, so the byte copy and the decoder are skipped.
 *
 * @example
 * ```ts
 * const header = JSON.parse(segmentText(token.slice(0, token.indexOf('.'))))
 * ```
 */
export function segmentText(segment: string): string {
  return decodeSegmentText(segment, nativeBytes())
}

/**
 * {@link segmentText} with the native decoder given (or `null` for the `atob` path): both paths
 * must give the same answer for every string, which the tests check.
 *
 * @internal
 * @example
 * ```ts
 * decodeSegmentText('eyJhIjoxfQ', null) // '{"a":1}'
 * ```
 */
export function decodeSegmentText(segment: string, native: BytesOf | null): string {
  // What atob refuses and Buffer would quietly truncate.
  if ((segment.length & 3) === 1) throw new TypeError('not base64url')
  let bytes: Uint8Array
  if (native) {
    bytes = native(segment)
  } else {
    const binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/'))
    if (!NON_ASCII.test(binary)) return binary
    bytes = new Uint8Array(binary.length)
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  }
  try {
    return strictUtf8.decode(bytes)
  } finally {
    // The segment may be a grant's claims: do not leave its bytes in a buffer of ours.
    bytes.fill(0)
  }
}
