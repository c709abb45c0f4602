import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { type Duration, toSeconds } from '../../duration.js'
import {
  authorizeUpgrade,
  compileUpgradePipeline,
  upgradeScrubber,
} from '../../pipeline/authorize-upgrade.js'
import { fail } from '../../pipeline/fail.js'
import type { ProxyOptions } from '../../pipeline/options.js'
import { emitRequestEvent } from '../../pipeline/request-event.js'
import { type RequestState, startRequest } from '../../pipeline/request-state.js'
import { scrubResponse } from '../../pipeline/scrub-response.js'
import { CLIENT_GONE } from '../../pipeline/send-upstream.js'
import type { Target } from '../../policy/target.js'
import { requestFromIncoming } from '../../proxy/incoming-request.js'
import { connectionTokens, isHopByHopResponseHeader } from '../../proxy/sanitize-headers.js'
import type { Scrubber } from '../../scrub/compile-scrubber.js'
import type { Lookup } from '../guarded-lookup.js'
import { toWebResponse } from '../incoming-response.js'
import { createNodeForwarder } from '../node-forwarder.js'
import { type DialedUpstream, dialUpstream } from './dial-upstream.js'
import { createFrameScrubber, DEFAULT_MAX_FRAME_BYTES } from './frame-scrubber.js'
import { responseHead, writeRawResponse } from './raw-response.js'

/** Options of the upgrade handler itself, beside the engine's. */
export interface UpgradeHandlerOptions {
  /**
   * The resolver, in the shape of `dns.lookup`. Default `dns.lookup`. Its answers are checked
   * like the node forwarder's: a private, loopback or link-local address fails with
   * `host_not_allowed` unless the authorize stage allowed it.
   */
  lookup?: Lookup
  /** Extra CA certificates (PEM) to trust for `wss` upstreams. Default: Node's. */
  ca?: string | Buffer | readonly (string | Buffer)[]
  /**
   * The largest frame from the upstream the scrubber holds to search, in bytes; a larger one
   * closes the connection. Default 16 MiB. Only with `scrub: true` (the default).
   */
  maxFrameBytes?: number
  /**
   * Closes an upgraded connection once no bytes have gone either way for this long (`'5m'`, or
   * seconds; `0` never): both sockets are destroyed, as when either side goes away, and the
   * client sees the connection drop (close code 1006). Any frame counts as traffic, pings and
   * pongs included, so a client or upstream that pings more often than this stays connected.
   * Default `'5m'`.
   */
  idleTimeout?: Duration
}

/** Per-upgrade details, as for the engine. */
export interface UpgradeContext {
  /**
   * The raw path and query below the mount point, exactly as received: `/{scheme}/{host}/...`
   * in open mode (`http` dials `ws`, `https` dials `wss`), the path after `upstream` in gateway
   * mode. Default: `req.url`.
   */
  path?: string
  /**
   * Rewrites the proxy's own refusals before they are written (the forward proxy turns its 401s
   * into 407s). Default: as they are.
   */
  respond?: (response: Response) => Response
}

/** An `upgrade` listener of a `node:http` server (see {@link createUpgradeHandler}). */
export type UpgradeHandler = (
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  context?: UpgradeContext,
) => void

/** How long an upgraded connection may carry no bytes either way before it is closed. */
const DEFAULT_IDLE_TIMEOUT = '5m'
// setTimeout's largest delay; a longer one would fire at once.
const MAX_TIMER_MS = 2_147_483_647

// A 101 cannot be a web Response (its constructor refuses 1xx); the event only reads the status.
const SWITCHED = { status: 101 } as Response

/** The upstream's 101 headers as they may reach the client: no hop-by-hop, no extensions, scrubbed. */
function switchedHeaders(
  response: IncomingMessage,
  scrubber: Scrubber | undefined,
): { pairs: [string, string][]; masked: number } {
  const raw = response.rawHeaders
  let connection: string[] | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection')
      connection = (connection ?? []).concat(connectionTokens(raw[i + 1] as string) ?? [])
  }
  const headers = new Headers()
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    // Never negotiated (the request offered none): passing it on would make the client inflate frames.
    if (name === 'sec-websocket-extensions' || isHopByHopResponseHeader(name, connection)) continue
    headers.append(name, raw[i + 1] as string)
  }
  const masked = scrubber ? scrubber.scrubHeaders(headers) : 0
  const pairs: [string, string][] = [
    ['upgrade', 'websocket'],
    ['connection', 'Upgrade'],
  ]
  for (const [name, value] of headers) if (name !== 'set-cookie') pairs.push([name, value])
  for (const cookie of headers.getSetCookie()) pairs.push(['set-cookie', cookie])
  return { pairs, masked }
}

/**
 * WebSocket upgrades through keyhole, for a `node:http` server's `upgrade` event. Each upgrade
 * runs the engine's own stages up to the upstream request — token, open, authorize (the grant,
 * `allowHosts`, the private-address rule), proof, strip and inject — so it is refused or
 * credentialed exactly as a plain request to the same URL would be; a refusal is the engine's
 * JSON error (`X-Keyhole-Error`) written to the socket, which is then closed. Open mode takes
 * `/{scheme}/{host[:port]}/{path}` (`http` → `ws`, `https` → `wss`); with `upstream` it is gateway
 * mode, as for the engine.
 *
 * The handshake goes upstream with `Upgrade`, `Connection`, `Sec-WebSocket-Key`,
 * `Sec-WebSocket-Version` and `Sec-WebSocket-Protocol` from the client, never
 * `Sec-WebSocket-Extensions` (no `permessage-deflate`, so frames can be read), never the token or
 * `Keyhole-Proof`, on a fresh connection whose dialed address is checked (the node forwarder's
 * guarded lookup), within the engine's `timeout` (504 `upstream_timeout`). On the upstream's 101
 * the client gets a 101 with the upstream's `Sec-WebSocket-Accept` and `-Protocol`, and bytes
 * are piped both ways; with `scrub: true` (default) every frame from the upstream has the grant's
 * secrets masked in place (same length, framing kept; a secret split across two frames is not
 * caught). Any other answer is relayed (headers, and with `scrub: true` the body, scrubbed) and
 * the connection closed. An upgraded connection that carries no bytes either way for
 * `idleTimeout` (default 5 minutes) is closed. One event per upgrade goes to `onEvent`, when the
 * connection ends.
 *
 * `options.forward` only sends the side requests some credentials need (an OAuth2 token
 * endpoint). Default: a new `createNodeForwarder()`.
 *
 * @example
 * ```ts
 * import http from 'node:http'
 * import { createOpener } from '@keyhole/core'
 * import { createNodeForwarder, createUpgradeHandler } from '@keyhole/core/node'
 *
 * const onUpgrade = createUpgradeHandler({ opener: createOpener({ keyring, issuers }), forward: createNodeForwarder() })
 * const server = http.createServer(app)
 * server.on('upgrade', (req, socket, head) => onUpgrade(req, socket, head))
 * // new WebSocket('ws://127.0.0.1:8787/https/stream.example.com/v1', { headers: { 'x-keyhole-token': token } })
 * ```
 */
export function createUpgradeHandler(
  options: ProxyOptions,
  upgradeOptions: UpgradeHandlerOptions = {},
): UpgradeHandler {
  const pipelineOptions = { ...options, forward: options?.forward ?? createNodeForwarder() }
  const compiled = compileUpgradePipeline(pipelineOptions)
  const maxFrameBytes = upgradeOptions.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  const idleMs = Math.min(toSeconds(upgradeOptions.idleTimeout ?? DEFAULT_IDLE_TIMEOUT) * 1000, MAX_TIMER_MS)
  const { admission, forwarding } = compiled

  const finish = (state: RequestState) => {
    if (!admission.onEvent) return
    state.handedBack ??= admission.tick()
    emitRequestEvent(state, admission)
  }

  const refuse = async (state: RequestState, socket: Duplex, thrown: unknown, context?: UpgradeContext) => {
    fail(state, admission, thrown)
    // Rewritten before the event, so the event's status is what the client got.
    if (context?.respond) state.response = context.respond(state.response as Response)
    finish(state)
    await writeRawResponse(socket, state.response as Response)
  }

  const relay = async (state: RequestState, socket: Duplex, dialed: DialedUpstream & { switched: false }) => {
    const upstream = toWebResponse(dialed.response, 'GET')
    let response: Response
    try {
      response = scrubResponse(state, admission, forwarding, upstream, (count) => {
        state.scrubbed = count
      })
    } catch (error) {
      dialed.response.destroy()
      await refuse(state, socket, error)
      return
    }
    state.response = response
    state.handedBack = admission.tick()
    await writeRawResponse(socket, response)
    // The handshake's connection is nobody's to reuse: it was never pooled.
    dialed.response.socket?.destroy()
    finish(state)
  }

  const connect = (
    state: RequestState,
    socket: Duplex,
    head: Buffer,
    dialed: DialedUpstream & { switched: true },
  ) => {
    const upstream = dialed.socket
    const destroyBoth = () => {
      upstream.destroy()
      socket.destroy()
    }
    upstream.on('error', destroyBoth)
    if (socket.destroyed) {
      destroyBoth()
      return
    }
    const scrubber = upgradeScrubber(state, admission)
    const { pairs, masked: inHeaders } = switchedHeaders(dialed.response, scrubber)
    let masked = inHeaders
    socket.write(responseHead(101, pairs))
    state.response = SWITCHED
    state.handedBack = admission.tick()
    let closed = 0
    let idle: ReturnType<typeof setTimeout> | undefined
    // One listener per socket: a side that is gone takes the other with it, and once both are
    // closed the upgrade's event goes out with everything masked in its frames.
    const onClosed = () => {
      clearTimeout(idle)
      destroyBoth()
      if (++closed !== 2) return
      state.scrubbed = masked
      finish(state)
    }
    socket.once('close', onClosed)
    upstream.once('close', onClosed)
    socket.on('error', destroyBoth)
    // Whatever the client sent after its handshake belongs to the upstream, unchanged.
    if (head.length > 0) upstream.write(head)
    socket.pipe(upstream)
    if (scrubber !== undefined && admission.scrub === true) {
      const frames = createFrameScrubber(scrubber, maxFrameBytes, (count) => {
        masked += count
      })
      frames.on('error', destroyBoth)
      if (dialed.head.length > 0) frames.write(dialed.head)
      upstream.pipe(frames).pipe(socket)
    } else {
      if (dialed.head.length > 0) socket.write(dialed.head)
      upstream.pipe(socket)
    }
    if (idleMs > 0 && !socket.destroyed) {
      // Bytes either way (frames, pings, pongs, closes) mark the connection busy; the timer is
      // armed for whatever is left of the idle time, so it runs at most once per idle period.
      let last = performance.now()
      const busy = () => {
        last = performance.now()
      }
      socket.on('data', busy)
      upstream.on('data', busy)
      const check = () => {
        const quiet = performance.now() - last
        if (quiet >= idleMs) destroyBoth()
        else arm(idleMs - quiet)
      }
      const arm = (ms: number) => {
        idle = setTimeout(check, ms)
        idle.unref()
      }
      arm(idleMs)
    }
  }

  const handle = async (req: IncomingMessage, socket: Duplex, head: Buffer, context?: UpgradeContext) => {
    socket.on('error', () => socket.destroy())
    const gone = new AbortController()
    const onGone = () => gone.abort(CLIENT_GONE)
    socket.once('close', onGone)
    const request = requestFromIncoming(req, gone.signal)
    const state = startRequest(admission, request, {
      path: context?.path ?? req.url ?? '/',
      signal: gone.signal,
    })
    state.clientSignal = gone.signal
    let dialed: DialedUpstream
    try {
      await authorizeUpgrade(state, compiled)
      state.phaseStart = admission.tick()
      dialed = await dialUpstream(
        {
          target: state.target as Target,
          path: state.path,
          headers: state.headers as Record<string, string>,
          privateAddresses: state.privateAddresses,
        },
        {
          timeoutMs: forwarding.timeoutMs,
          signal: gone.signal,
          lookup: upgradeOptions.lookup,
          ca: upgradeOptions.ca,
        },
      )
      state.upstreamMs = admission.tick() - state.phaseStart
    } catch (thrown) {
      await refuse(state, socket, thrown, context)
      return
    }
    socket.off('close', onGone)
    if (dialed.switched) connect(state, socket, head, dialed)
    else await relay(state, socket, dialed)
  }

  return (req, socket, head, context) => {
    handle(req, socket, head, context).catch(() => socket.destroy())
  }
}
