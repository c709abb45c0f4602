import { KeyholeError } from '../errors.js'

/** Largest admin request body accepted by default, in bytes. Grants and revocations are far smaller. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024

/**
 * Reads a small JSON body from a web `Request`, refusing more than `limit` bytes without reading
 * them all (a declared `Content-Length` over the limit is refused before any byte is read; a
 * chunked body is counted as it arrives and the stream cancelled once it passes the limit).
 * Throws `bad_request` for an oversized, empty, non-UTF-8 or unparsable body; the message never
 * quotes the body, which may hold a credential.
 *
 * @example
 * ```ts
 * const body = await readJsonBody(request, 16 * 1024)
 * ```
 */
export async function readJsonBody(request: Request, limit = MAX_ADMIN_BODY_BYTES): Promise<unknown> {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit)
  const body = request.body
  if (body === null) throw notJson()
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      length += value.byteLength
      if (length > limit) {
        await reader.cancel().catch(() => {})
        throw tooLarge(limit)
      }
      chunks.push(value)
    }
  } catch (error) {
    if (error instanceof KeyholeError) throw error
    throw new KeyholeError('bad_request', 'the request body could not be read')
  }
  const bytes = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (cause) {
    // The parser's message may quote the body: only the error's name is kept.
    throw notJson(cause instanceof Error ? cause.name : 'Error')
  } finally {
    bytes.fill(0)
  }
}

function notJson(cause?: string): KeyholeError {
  return new KeyholeError('bad_request', 'the request body must be JSON', cause ? { cause } : undefined)
}

function tooLarge(limit: number): KeyholeError {
  return new KeyholeError('bad_request', `the request body must be at most ${limit} bytes`)
}
