import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { pipeline, Readable } from 'node:stream'
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web'

/**
 * An HTTP/1.1 response head as bytes: status line, each header (every `Set-Cookie` on its own
 * line), blank line. Names and values are the caller's, already validated.
 *
 * @example
 * ```ts
 * socket.write(responseHead(101, [['upgrade', 'websocket'], ['connection', 'Upgrade']]))
 * ```
 */
export function responseHead(
  status: number,
  headers: Iterable<readonly [string, string]>,
  reason: string = STATUS_CODES[status] ?? 'Unknown',
): Buffer {
  let head = `HTTP/1.1 ${status} ${reason}\r\n`
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`
  return Buffer.from(`${head}\r\n`, 'latin1')
}

function headerPairs(headers: Headers): [string, string][] {
  const pairs: [string, string][] = []
  for (const [name, value] of headers) {
    if (name === 'set-cookie') continue
    if (name === 'connection' || name === 'transfer-encoding' || name === 'keep-alive') continue
    pairs.push([name, value])
  }
  for (const cookie of headers.getSetCookie()) pairs.push(['set-cookie', cookie])
  return pairs
}

/**
 * Writes a web `Response` to a raw socket (an `upgrade` event has no `ServerResponse`) and
 * closes it: the head with `Connection: close`, then the body streamed as it comes, delimited by
 * the close when its length is unknown. For the proxy's refusals and for an upstream that did not
 * switch protocols. Resolves once the socket is done with.
 *
 * @example
 * ```ts
 * await writeRawResponse(socket, errorResponse('missing_token'))
 * ```
 */
export async function writeRawResponse(socket: Duplex, response: Response): Promise<void> {
  const pairs = headerPairs(response.headers)
  pairs.push(['connection', 'close'])
  const head = responseHead(response.status, pairs, response.statusText || undefined)
  const body = response.body
  if (socket.destroyed) {
    await body?.cancel().catch(() => {})
    return
  }
  if (body === null) {
    socket.end(head)
    return
  }
  socket.write(head)
  const source = Readable.fromWeb(body as unknown as NodeWebReadableStream<Uint8Array>)
  await new Promise<void>((resolve) =>
    pipeline(source, socket, (error) => {
      if (error) socket.destroy()
      resolve()
    }),
  )
}
