import type { Duplex } from 'node:stream'
import { isKeyholeError, type KeyholeErrorCode } from '../../errors.js'
import { errorResponse, publicMessage } from '../../proxy/error-response.js'

/** The challenge a 407 carries: what makes clients resend with the proxy URL's credentials. */
export const PROXY_CHALLENGE = 'Basic realm="keyhole"'

const ERROR_HEADER = 'x-keyhole-error'

/**
 * Rewrites the engine's answer for a proxy client: the engine's own 401s (token and proof
 * failures; upstream 401s never carry `X-Keyhole-Error`, which the engine strips from upstream
 * responses) become 407 with `Proxy-Authenticate: Basic realm="keyhole"` and the same code and
 * body, since in forward-proxy mode the token is the proxy's credential, not the origin's.
 * Everything else passes through untouched.
 */
export function asProxyResponse(response: Response): Response {
  if (response.status !== 401 || !response.headers.has(ERROR_HEADER)) return response
  const headers = new Headers(response.headers)
  headers.delete('www-authenticate')
  headers.set('proxy-authenticate', PROXY_CHALLENGE)
  return new Response(response.body, { status: 407, statusText: 'Proxy Authentication Required', headers })
}

/**
 * The forward proxy's own error for a thrown value, as a proxy client must see it (401s as 407,
 * see {@link asProxyResponse}); anything that is not a `KeyholeError` is a 400 `bad_request`.
 */
export function proxyErrorResponse(error: unknown): Response {
  const code: KeyholeErrorCode = isKeyholeError(error) ? error.code : 'bad_request'
  const message =
    code === 'connect_disabled' || code === 'misdirected_request' ? (error as Error).message : undefined
  return asProxyResponse(errorResponse(code, message ?? publicMessage(code, error)))
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  407: 'Proxy Authentication Required',
  421: 'Misdirected Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  // Opening a token at CONNECT can meet the revocation store away.
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/**
 * Answers a CONNECT on the raw socket (there is no `ServerResponse` for one) with the proxy's
 * own error and closes the connection; nothing of the tunnel is ever set up.
 */
export async function refuseConnect(
  socket: Duplex,
  error: unknown,
  report?: (response: Response) => void,
): Promise<void> {
  const response = proxyErrorResponse(error)
  report?.(response)
  const body = Buffer.from(await response.text())
  const status = response.status
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n`
  for (const [name, value] of response.headers) head += `${name}: ${value}\r\n`
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`
  if (!socket.destroyed) socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]))
}
