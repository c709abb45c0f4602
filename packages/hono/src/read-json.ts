import { KeyholeError } from '@keyhole/core'

/** Largest admin request body accepted, in bytes. Grants and revocations are far smaller. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024

/**
 * Reads a small JSON body, refusing more than `limit` bytes without reading them all.
 * Throws `bad_request` for an oversized, empty or unparsable body.
 */
export async function readJson(request: Request, limit = MAX_ADMIN_BODY_BYTES): Promise<unknown> {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit)
  if (request.body === null) throw new KeyholeError('bad_request', 'the request body must be JSON')
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
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
  const bytes = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (cause) {
    // The parser's message may quote the body, which can hold a credential: never pass it on.
    throw new KeyholeError('bad_request', 'the request body must be JSON', { cause: stripMessage(cause) })
  }
}

function tooLarge(limit: number): KeyholeError {
  return new KeyholeError('bad_request', `the request body must be at most ${limit} bytes`)
}

function stripMessage(cause: unknown): string {
  return cause instanceof Error ? cause.name : 'Error'
}
