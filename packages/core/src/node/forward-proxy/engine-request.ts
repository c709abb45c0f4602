import type { IncomingMessage, ServerResponse } from 'node:http'
import { KeyholeError } from '../../errors.js'
import { closeSignal } from '../../proxy/close-signal.js'
import type { ProxyHandler } from '../../proxy/create-proxy.js'
import { requestFromIncoming } from '../../proxy/incoming-request.js'
import { TOKEN_HEADER } from '../../proxy/read-token.js'
import { asProxyResponse, proxyErrorResponse } from './proxy-response.js'
import { sendResponse } from './send-response.js'

/**
 * The one `Proxy-Authorization` of a request, read from the raw headers: Node would silently
 * keep the first of two, and two different credentials are a request to refuse, not to guess at.
 *
 * @throws KeyholeError `invalid_token` when the header is sent more than once
 */
export function proxyAuthorization(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders
  let found: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'proxy-authorization') continue
    if (found !== undefined)
      throw new KeyholeError('invalid_token', 'Proxy-Authorization was sent more than once')
    found = raw[i + 1] as string
  }
  return found
}

/** How the forward proxy hands a request to the engine. */
export interface EngineCall {
  readonly handler: ProxyHandler
  /**
   * Lower-case names removed before the engine sees the request, so that the engine reads the
   * token from nowhere but the `X-Keyhole-Token` set here: the token headers (`x-keyhole-token`,
   * `authorization`, the operator's `tokenHeaders`), `proxy-authorization` and
   * `proxy-connection`. The engine strips all of them before forwarding anyway.
   */
  readonly strip: ReadonlySet<string>
  /** Hand the body over as the Node stream (only for the node forwarder). */
  readonly nodeBody: boolean
}

/**
 * Runs one request through the engine with `token` as its only token and `enginePath` as its
 * open-mode target, and writes the answer (token failures as 407) to `res`.
 */
export async function callEngine(
  call: EngineCall,
  req: IncomingMessage,
  res: ServerResponse,
  enginePath: string,
  token: string,
): Promise<void> {
  const raw = req.rawHeaders
  const kept: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    if (!call.strip.has((raw[i] as string).toLowerCase())) kept.push(raw[i] as string, raw[i + 1] as string)
  }
  kept.push(TOKEN_HEADER, token)
  // The engine's request view reads rawHeaders; this message is ours alone, so it is replaced.
  req.rawHeaders = kept
  const signal = closeSignal(res)
  let response: Response
  try {
    response = await call.handler(requestFromIncoming(req, signal, call.nodeBody), {
      path: enginePath,
      signal,
      // Token failures become 407 before the engine's event, which then logs what was sent.
      respond: asProxyResponse,
    })
  } catch (error) {
    // The engine answers its failures itself; this is a defect elsewhere, never echoed.
    response = proxyErrorResponse(error instanceof KeyholeError ? error : undefined)
  }
  await sendResponse(res, asProxyResponse(response))
}

/** Answers a request the forward proxy refused before the engine, as a proxy client must see it. */
export function refuse(
  res: ServerResponse,
  error: unknown,
  report?: (response: Response) => void,
): Promise<void> {
  const response = proxyErrorResponse(error)
  report?.(response)
  return sendResponse(res, response)
}

/** The strip set for {@link EngineCall.strip}. */
export function stripSet(tokenHeaders: readonly string[] = []): ReadonlySet<string> {
  return new Set([
    TOKEN_HEADER,
    'authorization',
    'proxy-authorization',
    'proxy-connection',
    ...tokenHeaders.map((name) => name.toLowerCase()),
  ])
}
