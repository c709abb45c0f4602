import type { IncomingMessage } from 'node:http'
import { KeyholeError } from '@keyhole/core'

/** Largest admin request body accepted, in bytes. Grants and revocations are far smaller. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024

/**
 * Reads a small JSON body straight from the request stream, refusing more than `limit` bytes
 * without buffering them (so no `express.json()` is needed). If a body parser already ran,
 * its `req.body` is used instead. Throws `bad_request`.
 */
export function readJson(
  req: IncomingMessage & { body?: unknown },
  limit = MAX_ADMIN_BODY_BYTES,
): Promise<unknown> {
  if (req.body !== undefined && req.readableEnded) return Promise.resolve(req.body)
  const declared = Number(req.headers['content-length'])
  if (declared > limit) return Promise.reject(tooLarge(limit))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let length = 0
    const onData = (chunk: Buffer) => {
      length += chunk.length
      if (length > limit) {
        cleanup()
        // Stop reading; the rest of the upload is discarded when the response ends.
        req.resume()
        reject(tooLarge(limit))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      try {
        resolve(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, length))))
      } catch (cause) {
        // The parser's message may quote the body, which can hold a credential: never pass it on.
        reject(
          new KeyholeError('bad_request', 'the request body must be JSON', {
            cause: cause instanceof Error ? cause.name : 'Error',
          }),
        )
      }
    }
    const onError = () => {
      cleanup()
      reject(new KeyholeError('bad_request', 'the request body could not be read'))
    }
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}

function tooLarge(limit: number): KeyholeError {
  return new KeyholeError('bad_request', `the request body must be at most ${limit} bytes`)
}
