import type { ServerResponse } from 'node:http'
import { pipeline } from 'node:stream'
import { nodeBody, takeKnownBody } from '@keyhole/core/node'

/**
 * Writes a web `Response` to a Node response: status, headers (each `Set-Cookie` kept
 * separate) and the body, streamed chunk by chunk with backpressure (waits for `drain` when the
 * socket is full) so nothing is buffered beyond the stream's own queue. Each chunk is written as
 * it arrives, so server-sent events reach the client one by one. If the client goes away the
 * body is cancelled (which aborts the upstream response); if the body fails mid-way the client
 * connection is destroyed, so a truncated body is never mistaken for a complete one.
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

  // A body the engine or the node forwarder already holds in memory goes out in one write, with
  // the head, without a web stream being made to read it back.
  const known = takeKnownBody(response)
  if (known !== undefined) {
    if (res.destroyed) return
    res.end(res.req?.method === 'HEAD' ? undefined : known.bytes)
    return
  }

  const body = response.body
  if (body === null || res.req?.method === 'HEAD') {
    body?.cancel().catch(() => {})
    res.end()
    return
  }
  if (res.destroyed) {
    await body.cancel().catch(() => {})
    return
  }
  const upstream = nodeBody(response)
  if (upstream) {
    // The node forwarder's upstream message, piped without web streams in between. pipeline
    // keeps backpressure, writes each chunk as it comes (events flush one by one), destroys the
    // upstream message when the client goes away and the client connection when the upstream fails.
    if (!response.headers.has('content-length')) res.flushHeaders()
    await new Promise<void>((resolve) => pipeline(upstream, res, () => resolve()))
    return
  }
  // A body of unknown length may be a stream of events: send the head now rather than with the
  // first event. Bodies of known length go out with their first chunk, in one write.
  if (!response.headers.has('content-length')) res.flushHeaders()
  const reader = body.getReader()
  let gone = false
  const onClose = () => {
    if (res.writableFinished) return
    gone = true
    reader.cancel().catch(() => {})
  }
  res.once('close', onClose)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (gone) return
      if (!res.write(value)) await drained(res)
      if (gone) return
    }
    res.end()
  } catch {
    res.destroy()
  } finally {
    res.off('close', onClose)
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}
