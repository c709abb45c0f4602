import type { Duplex } from 'node:stream'

// What Node's parser refused, as keyhole's error: [status, reason, code, message].
const ANSWERS: Record<string, readonly [number, string, string, string]> = {
  HPE_INVALID_URL: [400, 'Bad Request', 'bad_target', 'the target URL is not valid'],
  HPE_HEADER_OVERFLOW: [
    431,
    'Request Header Fields Too Large',
    'bad_request',
    'the request headers are too large',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'bad_request', 'the request did not arrive in time'],
}
const OTHER = [400, 'Bad Request', 'bad_request', 'the request is not valid HTTP'] as const

/**
 * A `node:http` server's `'clientError'` listener: a request Node's own parser refuses (a raw
 * control character or non-ASCII byte in the target, a malformed request line or header) gets
 * keyhole's JSON error with `X-Keyhole-Error`, as every other refusal does, instead of Node's
 * bare `400 Bad Request`. Nothing of the request is echoed; a connection already gone is just
 * closed.
 *
 * @example
 * ```ts
 * server.on('clientError', answerClientError)
 * ```
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const [status, reason, code, message] = ANSWERS[error.code ?? ''] ?? OTHER
  const body = JSON.stringify({ error: { code, message } })
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncache-control: no-store\r\n` +
      `x-keyhole-error: ${code}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )
}
