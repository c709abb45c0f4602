import { KeyholeError } from '../errors.js'
import type { RequestState } from './request-state.js'

/** The most of a request body the engine buffers when it must read one. Default 1 MiB. */
export const DEFAULT_MAX_BUFFERED_BODY = 1024 * 1024

function tooLarge(limit: number): KeyholeError {
  return new KeyholeError('body_too_large', `the request body is larger than ${limit} bytes`)
}

/**
 * Reads a request body into one buffer, refusing (`body_too_large`, 413) as soon as it passes
 * `limit` — a declared `Content-Length` over the limit is refused before anything is read. Takes a
 * web `ReadableStream` or anything async-iterable (the Node request a Node adapter hands over).
 *
 * @example
 * ```ts
 * const bytes = await readBoundedBody(request.body, request.headers.get('content-length'), 1 << 20)
 * ```
 */
export async function readBoundedBody(
  body: unknown,
  contentLength: string | null,
  limit: number,
): Promise<Uint8Array<ArrayBuffer>> {
  if (body == null) return new Uint8Array(0)
  if (contentLength !== null && Number(contentLength) > limit) throw tooLarge(limit)
  const chunks: Uint8Array[] = []
  let size = 0
  const add = (chunk: Uint8Array) => {
    size += chunk.byteLength
    if (size > limit) throw tooLarge(limit)
    chunks.push(chunk)
  }
  const stream = body as ReadableStream<Uint8Array>
  if (typeof stream.getReader === 'function') {
    const reader = stream.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        add(value)
      }
    } catch (error) {
      reader.cancel().catch(() => {})
      throw error
    }
  } else {
    for await (const chunk of body as AsyncIterable<Uint8Array>) add(chunk)
  }
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

/**
 * Buffers the request body once for every stage that must see it (a `_method` field, body and
 * signing injectors); later stages and the forwarder use `state.buffered`, which goes upstream
 * with a correct `Content-Length`.
 *
 * @example
 * ```ts
 * const bytes = await bufferBody(state, admission.maxBufferedBody)
 * ```
 */
export async function bufferBody(state: RequestState, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  if (state.buffered === undefined) {
    const request = state.request
    state.buffered = await readBoundedBody(request.body, request.headers.get('content-length'), limit)
  }
  return state.buffered
}
