/**
 * Decoders a caller supplies for content codings the runtime's `DecompressionStream` lacks, by
 * coding name in lower case: Node 20 has no `DecompressionStream('br')`, so a Node caller passes
 * `{ br: () => Duplex.toWeb(zlib.createBrotliDecompress()) }` (this module imports nothing from
 * `node:`, so that core's universal entry runs on Workers, Deno and Bun).
 *
 * @example
 * ```ts
 * import { Duplex } from 'node:stream'
 * import { createBrotliDecompress } from 'node:zlib'
 * const decoders: ContentDecoders = { br: () => Duplex.toWeb(createBrotliDecompress()) }
 * ```
 */
export type ContentDecoders = Readonly<Record<string, () => ReadableWritablePair<Uint8Array, Uint8Array>>>

/**
 * `response` with a body the scrubber can read: a `gzip`, `x-gzip` or `deflate` body (or any
 * coding in `decoders`, or `br` where the runtime's `DecompressionStream` has it) is decoded as it
 * streams, and `Content-Encoding` and `Content-Length` are dropped, since the decoded body has
 * neither. `identity`, no `Content-Encoding` or no body: the response itself. Codings applied in
 * sequence (`gzip, br`) are undone in reverse order. Any coding it cannot decode:
 * `'unscrubbable'` — the engine answers 502 `response_not_scrubbable` rather than pass a body it
 * cannot search. A body that is not valid for its coding errors the returned body's stream.
 *
 * @example
 * ```ts
 * const decoded = decodeForScrubbing(upstream, { br: brotliDecoder })
 * if (decoded === 'unscrubbable') throw new KeyholeError('response_not_scrubbable', '...')
 * const body = decoded.body?.pipeThrough(scrubber.stream())
 * ```
 */
export function decodeForScrubbing(
  response: Response,
  decoders?: ContentDecoders,
): Response | 'unscrubbable' {
  const header = response.headers.get('content-encoding')
  if (header === null || response.body === null) return response
  const codings = header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity')
  if (codings.length === 0) return response
  const steps: ReadableWritablePair<Uint8Array, Uint8Array>[] = []
  for (const coding of codings.reverse()) {
    const step = decoderFor(coding, decoders)
    if (step === undefined) return 'unscrubbable'
    steps.push(step)
  }
  let body: ReadableStream<Uint8Array> = response.body
  for (const step of steps) body = body.pipeThrough(step)
  const headers = new Headers(response.headers)
  headers.delete('content-encoding')
  headers.delete('content-length')
  return new Response(body, { status: response.status, statusText: response.statusText, headers })
}

function decoderFor(
  coding: string,
  decoders: ContentDecoders | undefined,
): ReadableWritablePair<Uint8Array, Uint8Array> | undefined {
  const supplied = decoders !== undefined && Object.hasOwn(decoders, coding) ? decoders[coding] : undefined
  if (supplied !== undefined) return supplied()
  const format = coding === 'x-gzip' ? 'gzip' : coding
  if (format !== 'gzip' && format !== 'deflate' && format !== 'br') return undefined
  try {
    // 'br' is not a CompressionFormat in every runtime (Node 20 throws): feature-test it.
    return new DecompressionStream(format as CompressionFormat) as ReadableWritablePair<
      Uint8Array,
      Uint8Array
    >
  } catch {
    return undefined
  }
}
