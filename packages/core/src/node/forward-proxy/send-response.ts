import type { ServerResponse } from 'node:http'
import { pipeline, Readable } from 'node:stream'
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web'
import { nodeBody } from '../incoming-response.js'

/**
 * Writes a web `Response` to a Node response: status, headers (each `Set-Cookie` separate) and
 * the body, streamed with backpressure. A body of unknown length sends its head at once (server-
 * sent events flush as they come). When the client goes away the body is destroyed (aborting the
 * upstream); when the body fails mid-way the client connection is destroyed, so a truncated body
 * never looks complete.
 */
export async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status
  if (response.statusText) res.statusMessage = response.statusText
  let cookies = false
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') cookies = true
    else res.setHeader(name, value)
  }
  if (cookies) res.setHeader('set-cookie', response.headers.getSetCookie())

  const body = response.body
  if (body === null || res.req?.method === 'HEAD' || res.destroyed) {
    await body?.cancel().catch(() => {})
    if (!res.destroyed) res.end()
    return
  }
  if (!response.headers.has('content-length')) res.flushHeaders()
  // The node forwarder's upstream message is piped as it is, without web streams in between.
  const source = nodeBody(response) ?? Readable.fromWeb(body as unknown as NodeWebReadableStream<Uint8Array>)
  await new Promise<void>((resolve) => pipeline(source, res, () => resolve()))
}
