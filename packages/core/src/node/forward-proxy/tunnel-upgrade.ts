import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { KeyholeError } from '../../errors.js'
import type { Target } from '../../policy/target.js'
import type { ProxyEventListener } from '../../proxy/events.js'
import { TOKEN_HEADER } from '../../proxy/read-token.js'
import type { UpgradeHandler } from '../websocket/create-upgrade-handler.js'
import { writeRawResponse } from '../websocket/raw-response.js'
import { proxyAuthorization } from './engine-request.js'
import { asProxyResponse, proxyErrorResponse } from './proxy-response.js'
import { chooseToken, readProxyTokens } from './proxy-tokens.js'
import { reportRefusal } from './refusal-event.js'
import { absoluteFormUpgradeTarget, hostCount, hostMatches, tunnelPath } from './targets.js'
import type { Tunnel } from './tunnel.js'

/** Writes the forward proxy's own refusal to an upgrade's raw socket and closes it; reports it. */
function refuseUpgrade(
  socket: Duplex,
  error: unknown,
  onEvent: ProxyEventListener | undefined,
  target: Target | undefined,
): void {
  socket.on('error', () => socket.destroy())
  const response = proxyErrorResponse(error)
  reportRefusal(onEvent, 'GET', response, target)
  void writeRawResponse(socket, response)
}

/**
 * Hands an upgrade to the handler with `token` as its only token: every token header and
 * `Proxy-Authorization` (`strip`) removed, `X-Keyhole-Token` set, refusals that would be 401
 * written as 407.
 */
function handOver(
  onUpgrade: UpgradeHandler,
  strip: ReadonlySet<string>,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  path: string,
  token: string,
): void {
  const raw = req.rawHeaders
  const kept: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    if (!strip.has((raw[i] as string).toLowerCase())) kept.push(raw[i] as string, raw[i + 1] as string)
  }
  kept.push(TOKEN_HEADER, token)
  // The handler's request view reads rawHeaders; this message is ours alone, so it is replaced.
  req.rawHeaders = kept
  onUpgrade(req, socket, head, { path, respond: asProxyResponse })
}

/**
 * A WebSocket upgrade inside a CONNECT tunnel (`wss://host/...` through `HTTPS_PROXY`): held to
 * the tunnel like any request inside it — `Host` must be the CONNECT authority (else 421
 * `misdirected_request`), the target is `https://<authority>` plus the request target, and the
 * token is the one chosen at CONNECT time, the only one the handler sees (every token header and
 * `Proxy-Authorization` is removed, `X-Keyhole-Token` set). Refusals that would be 401 are 407.
 *
 * @example
 * ```ts
 * inner.on('upgrade', (req, socket, head) => upgradeInTunnel(onUpgrade, tunnels.get(req.socket), strip, req, socket, head))
 * ```
 */
export function upgradeInTunnel(
  onUpgrade: UpgradeHandler,
  tunnel: Tunnel | undefined,
  strip: ReadonlySet<string>,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  onEvent?: ProxyEventListener,
): void {
  if (!tunnel) {
    socket.destroy()
    return
  }
  let path: string
  try {
    // Node keeps the first of two Host headers: a second one is refused, never ignored.
    if (hostCount(req.rawHeaders) !== 1 || !hostMatches(tunnel.origin, req.headers.host)) {
      throw new KeyholeError('misdirected_request', 'this tunnel only carries requests for its CONNECT host')
    }
    path = tunnelPath(tunnel.origin, req.url)
  } catch (error) {
    refuseUpgrade(socket, error, onEvent, tunnel.origin)
    return
  }
  handOver(onUpgrade, strip, req, socket, head, path, tunnel.token)
}

/**
 * A WebSocket upgrade in absolute form (`GET ws://host/path` or `GET http://host/path` with
 * `Upgrade: websocket`, what a proxy client sends for a `ws://` URL through `HTTP_PROXY`): the
 * target comes from the request line, never from `Host` (`ws` dials `ws`, `wss` or `https`
 * dials `wss`); the token from `Proxy-Authorization`, chosen by its hosts hint like any
 * absolute-form request. Refusals that would be 401 are 407 with `Proxy-Authenticate`.
 *
 * @example
 * ```ts
 * server.on('upgrade', (req, socket, head) => upgradeAbsoluteForm(onUpgrade, strip, req, socket, head))
 * ```
 */
export function upgradeAbsoluteForm(
  onUpgrade: UpgradeHandler,
  strip: ReadonlySet<string>,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  onEvent?: ProxyEventListener,
): void {
  let path: string
  let token: string
  let target: Target | undefined
  try {
    const tokens = readProxyTokens(proxyAuthorization(req))
    const form = absoluteFormUpgradeTarget(req.url ?? '')
    target = form.target
    token = chooseToken(tokens, target)
    path = form.enginePath
  } catch (error) {
    if (target === undefined) {
      try {
        target = absoluteFormUpgradeTarget(req.url ?? '').target
      } catch {
        // Not a readable target: the event goes without one.
      }
    }
    refuseUpgrade(socket, error, onEvent, target)
    return
  }
  handOver(onUpgrade, strip, req, socket, head, path, token)
}
