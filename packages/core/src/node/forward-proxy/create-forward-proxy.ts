import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { KeyholeError } from '../../errors.js'
import { type HostRule, type HostTarget, matchHost, parseHostPattern } from '../../policy/host-pattern.js'
import type { Target } from '../../policy/target.js'
import type { ProxyHandler, ProxyOpener } from '../../proxy/create-proxy.js'
import type { ProxyEventListener } from '../../proxy/events.js'
import type { Grant } from '../../types.js'
import type { CertificateAuthority } from '../ca/certificate-authority.js'
import type { Lookup } from '../guarded-lookup.js'
import type { UpgradeHandler } from '../websocket/create-upgrade-handler.js'
import { checkConnectAddress, compileConnectAddressRule } from './connect-address.js'
import { callEngine, type EngineCall, proxyAuthorization, refuse, stripSet } from './engine-request.js'
import { refuseConnect } from './proxy-response.js'
import { chooseConnectToken, chooseToken, readProxyTokens } from './proxy-tokens.js'
import { reportRefusal } from './refusal-event.js'
import {
  absoluteFormTarget,
  connectTarget,
  hostCount,
  hostMatches,
  isAbsoluteForm,
  isAbsoluteFormUpgrade,
  tunnelPath,
} from './targets.js'
import { openTunnel, type Tunnel } from './tunnel.js'
import { upgradeAbsoluteForm, upgradeInTunnel } from './tunnel-upgrade.js'

/** Options of {@link createForwardProxy} and {@link attachForwardProxy}. */
export interface ForwardProxyOptions {
  /** The engine every request goes through: `createProxy({ opener, forward: createNodeForwarder(), ... })`. Required. */
  handler: ProxyHandler
  /**
   * Enables CONNECT with TLS interception: leaf certificates for CONNECT hosts come from this
   * CA, which clients must trust. Default: none, and CONNECT is answered 403 `connect_disabled`
   * (there is never a blind tunnel).
   */
  ca?: CertificateAuthority
  /**
   * The engine's opener. With it, a CONNECT's token is opened (decryption, signature and issuer
   * trust, expiry, revocation) before the tunnel is answered, so a bad token is refused with 407
   * at the CONNECT, before any TLS, rather than on every request inside. The signed policy is
   * still enforced by the engine on each request. Default: none (the token is only routed by
   * its public hosts hint at CONNECT). With it, the CONNECT's private-address check (see
   * `allowPrivateAddresses`) also covers IP-literal authorities, judged with the opened grant.
   */
  opener?: ProxyOpener
  /**
   * The engine's `allowPrivateAddresses`, if it has any (`true`, or CIDR ranges). A CONNECT whose
   * authority the engine's private-address rule would refuse for every request inside is refused
   * with 403 `host_not_allowed` before any TLS, and nothing is dialed: a local-only name
   * (`localhost`, `*.internal`, ...), a name that resolves (with `lookup`) to a private, loopback
   * or link-local address outside these ranges, and, with `opener`, an IP literal that is such an
   * address unless the signed grant names it literally. Give the same value as the engine's, or
   * CONNECTs the engine would serve are refused. Default `false`.
   */
  allowPrivateAddresses?: boolean | readonly string[]
  /**
   * The engine's `allowHosts`, if it has any: a CONNECT to an authority none of them covers is
   * refused with 403 `host_not_allowed` before any TLS (the engine would refuse every request
   * inside anyway). Default: none.
   */
  allowHosts?: readonly string[]
  /**
   * Receives one event for each request or CONNECT the forward proxy answers itself, before the
   * engine (no usable token, no token for the host, a refused CONNECT, a request for another host
   * inside a tunnel), with the status the client got. Requests that reach the engine are
   * reported by the engine's own `onEvent`; give both the same listener. Default: none.
   */
  onEvent?: ProxyEventListener
  /**
   * The resolver the engine's forwarder dials with (`createNodeForwarder({ lookup })`), in the
   * shape of `dns.lookup`: a CONNECT authority that is a host name is resolved with it for the
   * check above. Default `dns.lookup`.
   */
  lookup?: Lookup
  /**
   * The engine's `tokenHeaders`, if it has any: removed from forward-proxy requests so the token
   * comes from `Proxy-Authorization` only (the engine strips them before forwarding anyway).
   * Default: none.
   */
  tokenHeaders?: readonly string[]
  /**
   * Hand request bodies to the engine as the Node stream itself. Only when the engine's
   * forwarder is `createNodeForwarder()`, which pipes it; any other forwarder needs a web
   * stream. Default `false`.
   */
  nodeBody?: boolean
  /**
   * How long a client may take to finish the TLS handshake inside a CONNECT, in ms; past it the
   * connection is closed. Default `10000`.
   */
  handshakeTimeoutMs?: number
  /**
   * WebSocket upgrades through the proxy: inside CONNECT tunnels (`wss://` through
   * `HTTPS_PROXY`) and in absolute form (`GET ws://host/path` or `GET http://host/path` with
   * `Upgrade: websocket`, for `ws://` through `HTTP_PROXY`). The handler from
   * `createUpgradeHandler(engineOptions)`, given the target and token like any request there.
   * Default: none, and such an upgrade is closed.
   */
  upgrade?: UpgradeHandler
}

/** The forward proxy's Node handlers (see {@link createForwardProxy}). */
export interface ForwardProxy {
  /**
   * An `http.Server` `'request'` listener for proxy requests: absolute-form requests
   * (`GET http://host/path HTTP/1.1`) are handled; any other request is passed to `next`.
   */
  onRequest(req: IncomingMessage, res: ServerResponse, next: () => void): void
  /**
   * An `http.Server` `'upgrade'` listener for absolute-form WebSocket upgrades
   * (`GET ws://host/path`, `GET http://host/path`); any other upgrade is passed to `next`.
   * Without the `upgrade` option an absolute-form upgrade is closed.
   */
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, next: () => void): void
  /** An `http.Server` `'connect'` listener: CONNECT with TLS interception, or 403 without a CA. */
  onConnect(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /** Closes every open tunnel (for shutdown; `server.close()` does not see hijacked sockets). */
  close(): void
}

const CONNECT_DISABLED =
  'CONNECT needs a certificate authority: start the proxy with --ca <ca.json> (create one with keyhole ca init)'

/**
 * The forward-proxy mode: what `HTTP_PROXY`/`HTTPS_PROXY` clients send, run through the same
 * engine as open mode, so unmodified tools (curl, git, Python, Node SDKs) work.
 *
 * - Absolute-form requests (`GET http://host:8080/p?q`) go to the engine as the open-mode path
 *   `/http/host:8080/p?q`; the target comes from the request line, never from `Host`.
 * - `CONNECT host:port`, with a `ca`: the token is checked against the authority (and, with
 *   `opener`, opened) **before any TLS**, and so is the authority against the engine's
 *   private-address rule (`allowPrivateAddresses`, a host name resolved with `lookup`); then TLS
 *   is terminated with a leaf for that host; the TLS server name must be the host
 *   (absent only for IP literals), and every request inside must carry `Host: <authority>` (else
 *   421 `misdirected_request`). Each request goes to the engine as `https://<authority>` plus its
 *   request target, so an open-mode-looking path inside the tunnel is just a path there. The
 *   upstream's real certificate is verified by the engine's forwarder as usual.
 * - The token comes only from `Proxy-Authorization`: `Bearer <token>`, or `Basic` with the token
 *   or several comma-separated as password (`http://keyhole:TOKEN@proxy:8787`); with several, the
 *   first whose public `hosts` hint covers the target (scheme, host, port) is used, none is 403
 *   `host_not_allowed`. It reaches the engine as `X-Keyhole-Token`; a tool's own `Authorization`
 *   is never taken for a token. Token failures the engine answers with 401 become 407 with
 *   `Proxy-Authenticate: Basic realm="keyhole"` and the same `X-Keyhole-Error`.
 *
 * @example
 * ```ts
 * import http from 'node:http'
 * import { createOpener, createProxy } from '@keyhole/core'
 * import { createForwardProxy, createNodeForwarder, loadCertificateAuthority } from '@keyhole/core/node'
 *
 * const opener = createOpener({ keyring, issuers })
 * const handler = createProxy({ opener, forward: createNodeForwarder() })
 * const proxy = createForwardProxy({ handler, opener, ca: await loadCertificateAuthority(caJson), nodeBody: true })
 * const server = http.createServer((req, res) => proxy.onRequest(req, res, () => {
 *   res.statusCode = 404
 *   res.end()
 * }))
 * server.on('connect', proxy.onConnect)
 * server.listen(8787)
 * // curl -x http://keyhole:$TOKEN@127.0.0.1:8787 --cacert ca.pem https://api.github.com/user
 * ```
 */
export function createForwardProxy(options: ForwardProxyOptions): ForwardProxy {
  if (typeof options?.handler !== 'function') {
    throw new KeyholeError('bad_request', 'createForwardProxy needs { handler } (createProxy(...))')
  }
  const call: EngineCall = {
    handler: options.handler,
    strip: stripSet(options.tokenHeaders),
    nodeBody: options.nodeBody === true,
  }
  const ca = options.ca
  const addressRule = compileConnectAddressRule(options.allowPrivateAddresses, options.lookup)
  const allowHosts = compileAllowHosts(options.allowHosts)
  const onEvent = options.onEvent
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000
  const tunnels = new WeakMap<object, Tunnel>()
  const open = new Set<Duplex>()

  // Decrypted requests from every tunnel: an http.Server that never listens and is fed sockets.
  let inner: Server | undefined
  const tunnelServer = (): Server => {
    if (inner) return inner
    inner = createServer((req, res) => {
      const tunnel = tunnels.get(req.socket)
      if (!tunnel) {
        res.destroy()
        return
      }
      let path: string
      try {
        // Node keeps the first of two Host headers: a second one is refused, never ignored.
        if (hostCount(req.rawHeaders) !== 1 || !hostMatches(tunnel.origin, req.headers.host)) {
          throw new KeyholeError(
            'misdirected_request',
            'this tunnel only carries requests for its CONNECT host',
          )
        }
        path = tunnelPath(tunnel.origin, req.url)
      } catch (error) {
        void refuse(res, error, (response) =>
          reportRefusal(onEvent, req.method ?? 'GET', response, tunnel.origin),
        )
        return
      }
      void callEngine(call, req, res, path, tunnel.token)
    })
    // A CONNECT inside a tunnel would be a tunnel in a tunnel: refused in words, not by a reset.
    inner.on('connect', (req: IncomingMessage, socket: Duplex) => {
      const tunnel = tunnels.get(req.socket)
      socket.on('error', () => socket.destroy())
      void refuseConnect(
        socket,
        new KeyholeError('bad_target', 'CONNECT is not accepted inside a tunnel'),
        (response) =>
          reportRefusal(
            onEvent,
            'CONNECT',
            response,
            tunnel && { scheme: tunnel.origin.scheme, host: tunnel.origin.host, port: tunnel.origin.port },
          ),
      )
    })
    const onUpgrade = options.upgrade
    if (onUpgrade) {
      inner.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
        upgradeInTunnel(onUpgrade, tunnels.get(req.socket), call.strip, req, socket, head, onEvent),
      )
    }
    return inner
  }

  return {
    onRequest(req, res, next) {
      if (!isAbsoluteForm(req.url)) {
        next()
        return
      }
      let path: string
      let token: string
      let target: Target | undefined
      try {
        const tokens = readProxyTokens(proxyAuthorization(req))
        const form = absoluteFormTarget(req.url)
        target = form.target
        token = chooseToken(tokens, target)
        path = form.enginePath
      } catch (error) {
        // The token is read first (407 before anything else); the event still names the target.
        target ??= readableTarget(() => absoluteFormTarget(req.url as string).target)
        void refuse(res, error, (response) => reportRefusal(onEvent, req.method ?? 'GET', response, target))
        return
      }
      void callEngine(call, req, res, path, token)
    },

    onUpgrade(req, socket, head, next) {
      if (!isAbsoluteFormUpgrade(req.url)) {
        next()
        return
      }
      if (options.upgrade) upgradeAbsoluteForm(options.upgrade, call.strip, req, socket, head, onEvent)
      else socket.destroy()
    },

    onConnect(req, socket, head) {
      socket.on('error', () => socket.destroy())
      void (async () => {
        let tunnel: Tunnel
        let origin: Target | undefined
        // A CONNECT names an authority, not a path.
        const report = (response: Response) =>
          reportRefusal(
            onEvent,
            'CONNECT',
            response,
            origin && { scheme: origin.scheme, host: origin.host, port: origin.port },
          )
        try {
          if (!ca) throw new KeyholeError('connect_disabled', CONNECT_DISABLED)
          const tokens = readProxyTokens(proxyAuthorization(req))
          const authority = connectTarget(req.url)
          origin = authority
          tunnel = { origin: authority, token: chooseConnectToken(tokens, authority) }
          // Outside the operator's allow-list, every request inside would be refused: no tunnel.
          if (allowHosts && !allowHosts.some((rule) => matchHost(rule, authority))) {
            throw new KeyholeError(
              'host_not_allowed',
              'the CONNECT host is not among the hosts this proxy allows',
            )
          }
          let grant: Grant | undefined
          if (options.opener) grant = await options.opener.open(tunnel.token)
          // A host the engine would never dial is refused here, before any TLS.
          await checkConnectAddress(authority.host, grant, addressRule)
        } catch (error) {
          origin ??= readableTarget(() => connectTarget(req.url))
          await refuseConnect(socket, error, report)
          return
        }
        open.add(socket)
        socket.once('close', () => open.delete(socket))
        let tls: TLSSocket | undefined
        try {
          tls = await openTunnel(socket, head, tunnel.origin.host, ca, handshakeTimeoutMs)
        } catch (error) {
          await refuseConnect(socket, error, report)
          return
        }
        if (!tls) return
        tunnels.set(tls, tunnel)
        tunnelServer().emit('connection', tls)
      })()
    },

    close() {
      for (const socket of open) socket.destroy()
      open.clear()
    },
  }
}

/** The engine's `allowHosts` patterns, compiled once; invalid ones throw `bad_request`. */
function compileAllowHosts(patterns: readonly string[] | undefined): HostRule[] | undefined {
  if (patterns === undefined) return undefined
  try {
    return patterns.map((pattern) => parseHostPattern(pattern))
  } catch {
    throw new KeyholeError('bad_request', 'allowHosts holds an invalid host pattern')
  }
}

/** The target for an event, when it can be read at all. */
function readableTarget<T extends HostTarget>(read: () => T): T | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}

/**
 * Adds the forward-proxy mode to an existing `http.Server`: absolute-form requests are taken
 * before the server's own `'request'` listeners (which still get every other request), and
 * CONNECT is answered (with TLS interception when `ca` is given, 403 `connect_disabled`
 * otherwise). With `upgrade`, absolute-form WebSocket upgrades are taken likewise before the
 * server's `'upgrade'` listeners — those added before this call; one added later would see them
 * too — and any other upgrade goes to those listeners (added before or after), or is closed when
 * the server has none. Returns the {@link ForwardProxy};
 * call its `close()` on shutdown.
 *
 * @example
 * ```ts
 * import { createAdaptorServer } from '@hono/node-server'
 * import { attachForwardProxy } from '@keyhole/core/node'
 *
 * const server = createAdaptorServer({ fetch: app.fetch })
 * const proxy = attachForwardProxy(server, { handler, ca })
 * server.listen(8787)
 * ```
 */
export function attachForwardProxy(server: Server, options: ForwardProxyOptions): ForwardProxy {
  const proxy = createForwardProxy(options)
  const listeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[]
  server.removeAllListeners('request')
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    proxy.onRequest(req, res, () => {
      for (const listener of listeners) listener.call(server, req, res)
    })
  })
  server.on('connect', proxy.onConnect)
  // Only with a handler: an 'upgrade' listener makes Node stop treating upgrades as requests.
  if (options.upgrade) {
    const upgrades = server.listeners('upgrade') as ((
      req: IncomingMessage,
      socket: Duplex,
      head: Buffer,
    ) => void)[]
    server.removeAllListeners('upgrade')
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      proxy.onUpgrade(req, socket, head, () => {
        for (const listener of upgrades) listener.call(server, req, socket, head)
        // Closed only when nothing else listens: an 'upgrade' listener added after this call runs
        // after this one (EventEmitter order) and takes the upgrade itself.
        if (upgrades.length === 0 && server.listenerCount('upgrade') <= 1) socket.destroy()
      })
    })
  }
  return proxy
}
