import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { availableParallelism } from 'node:os'
import type { Duplex } from 'node:stream'
import {
  createFailureLimiter,
  createMemoryReplayCache,
  createMemoryStore,
  createOpener,
  createProxy,
  type Duration,
  errorResponse,
  type Injector,
  type IssuerOption,
  type ProxyEvent,
  type ProxyHandler,
  type ProxyOpener,
  type ReplayCache,
  type RevocationStore,
  toPublicJwk,
} from '@keyhole/core'
import {
  attachForwardProxy,
  type CertificateAuthority,
  createDecryptPool,
  createNodeForwarder,
  createNodeOpener,
  createUpgradeHandler,
  type UpgradeHandler,
} from '@keyhole/core/node'
import { admin } from '@keyhole/hono'
import { keyhole as honoKeyhole } from '@keyhole/hono/node'
import { Hono } from 'hono'
import { CliError } from './cli-error.js'
import { answerClientError } from './client-error.js'
import { trackDrain } from './drain.js'
import { createFetchListener } from './fetch-listener.js'
import { type LoadedKeys, loadKeys } from './load-keyring.js'
import { field, formatEvent } from './log-line.js'

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Path of the private key set (`keyhole keygen` output). Read at start and on every `reload()`. */
  keys: string
  /** How the key file is named in messages. Default: `keys`. */
  keysShown?: string
  /** Port to listen on. Default `8787`; `0` picks a free one. */
  port?: number
  /** Address to listen on. Default `'127.0.0.1'` (this machine only). */
  hostname?: string
  /**
   * Issuers whose signed tokens the proxy honours besides the key file's own issuer keys
   * (`--trust-issuer`): public keys or a JWKS URL, each optionally limited to host patterns.
   */
  trustIssuers?: readonly IssuerOption[]
  /**
   * Reads the `--trust-issuer` sources again on `reload()` (SIGHUP), so an issuer dropped from a
   * trust file stops being honoured without a restart. Default: the trust set stays as started.
   */
  reloadTrustIssuers?: () => Promise<readonly IssuerOption[]>
  /** Opens unsigned tokens too (`--accept-unsigned`); needs `allowHosts`. Default: false. */
  acceptUnsigned?: boolean
  /** Host patterns every target must match besides the grant (`--allow-host`). Default: any public host. */
  allowHosts?: readonly string[]
  /** Lets requests reach private addresses: all (`true`) or CIDR ranges (`--allow-private`). Default: false. */
  allowPrivateAddresses?: boolean | readonly string[]
  /** Enables `POST /revoke` and `POST /mint`, guarded by `Authorization: Bearer <adminToken>`. Default: off. */
  adminToken?: string
  /** Where revocations live. Default: a new in-memory store (this process only). */
  revocations?: RevocationStore
  /**
   * Where the ids of used proofs of possession are claimed, so a `Keyhole-Proof` works once.
   * Replicas must share one (`--store-env` gives the store's). Default: an in-memory cache kept
   * across key reloads (this process only).
   */
  replayCache?: ReplayCache
  /** More headers that may carry the token (e.g. `x-api-key`), besides X-Keyhole-Token and Authorization. */
  tokenHeaders?: readonly string[]
  /**
   * Credential types beside core's built-in ones (`awsSigV4Injector` from `@keyhole/aws`, which
   * `keyhole serve` always passes). Given to the opener and to both engines alike, so a grant
   * that opens is also one the engine can apply. Default: the built-in ones only.
   */
  injectors?: readonly Injector<never>[]
  /**
   * Masks the injected secrets an upstream echoes back (`--scrub`): `true` in response headers
   * and bodies, `'headers'` in headers only, `false` not at all. Default `true`.
   */
  scrub?: boolean | 'headers'
  /**
   * Enables CONNECT in forward-proxy mode (`--ca`): TLS interception with leaf certificates from
   * this CA. Absolute-form proxy requests work without it. Default: none (CONNECT is 403
   * `connect_disabled`).
   */
  ca?: CertificateAuthority
  /** Receives one line per proxied request and per admin action (never a secret). Default: ignore. */
  log?: (line: string) => void
  /** Receives warnings about the key file (such as its mode). Default: ignore. */
  warn?: (line: string) => void
  /**
   * Decrypt tokens the proxy has not seen yet on up to this many worker threads
   * (`createDecryptPool`), so a burst of fresh tokens uses every core. `0` keeps decryption on
   * the event loop. Default: the machine's parallelism (`os.availableParallelism()`).
   */
  decryptThreads?: number
  /**
   * Stops a decryption worker after this long without work, so a proxy at rest holds no worker
   * threads; the next fresh token starts one again. Default `'30s'`.
   */
  decryptIdleTimeout?: Duration
  /**
   * Serve `GET /metrics` (Prometheus text, `--metrics`): behind `adminToken` unless `public`
   * (`--metrics-public`). Default: off.
   */
  metrics?: { public?: boolean }
}

/** A running standalone proxy. */
export interface KeyholeServer {
  /** The base URL, e.g. `http://127.0.0.1:8787`. */
  readonly url: string
  /** Decryption key ids currently loaded, oldest first (the last one is current). */
  kids(): readonly string[]
  /** The key file's issuer key ids, oldest first (the last one signs `/mint`'s tokens). */
  issuerKids(): readonly string[]
  /**
   * Reads the key file again and swaps in a new keyring. Requests already being handled finish
   * with the keys they started with; if the file cannot be read or a key is broken, the old
   * keys stay and the promise rejects. Resolves to the new key ids.
   */
  reload(): Promise<readonly string[]>
  /**
   * Drains and stops: `GET /readyz` answers 503 at once; connections are still accepted for
   * `delayMs` (default 0, so a load balancer that polls readiness has time to stop sending here);
   * then the listener closes, keep-alive connections are closed as their requests finish, and
   * requests in flight get up to `graceMs` (default 10 s) before their connections are cut.
   * Resolves once everything is closed. Calling it again returns the same promise.
   */
  close(graceMs?: number, delayMs?: number): Promise<void>
}

/**
 * Starts the standalone keyhole proxy on Node: open mode at `/`
 * (`/{scheme}/{host[:port]}/{path}`), and core's management routes beside it
 * (`GET /.well-known/jwks.json`, `GET /healthz`, `GET /readyz`, and with an admin token
 * `POST /revoke` and `POST /mint`; without one those two answer 404, so an admin token sent there
 * is never read as a keyhole token by the proxy). Built from `@keyhole/hono` on
 * `@hono/node-server`, with the keep-alive node forwarder and the node:crypto opener from
 * `@keyhole/core/node`.
 *
 * @example
 * ```ts
 * import { startServer } from '@keyhole/cli'
 *
 * const server = await startServer({ keys: 'keys.json', port: 8787, log: console.log })
 * process.on('SIGHUP', () => server.reload())
 * ```
 */
export async function startServer(options: ServerOptions): Promise<KeyholeServer> {
  const log = options.log ?? (() => {})
  const revocations = options.revocations ?? createMemoryStore()
  const ownsRevocations = options.revocations === undefined
  // Made once, not per build: a reload must not forget which proofs were already used.
  const replayCache = options.replayCache ?? createMemoryReplayCache()
  const forward = createNodeForwarder()
  // prom-client and its default collectors load only with --metrics.
  // One budget of wrong admin tokens per client address, for the admin routes and /metrics alike.
  const adminFailures = createFailureLimiter()
  const metrics = options.metrics
    ? (await import('./metrics.js')).createServeMetrics({
        ...options.metrics,
        limiter: adminFailures,
        ...(options.adminToken !== undefined && { adminToken: options.adminToken }),
      })
    : undefined
  // A line is formatted only for a `log` that prints it: startServer without one (an embedding
  // that reads events through metrics, or none) skips the date and the formatting per request.
  const onEvent = (event: ProxyEvent) => {
    if (options.log) log(formatEvent(event, new Date()))
    metrics?.record(event)
  }
  // Forward-proxy requests run through an engine made from the same options as the one the Hono
  // routes mount, swapped on reload together with the app.
  let engine: ProxyHandler | undefined
  // WebSocket upgrades too, from the same options (and swapped with them).
  let upgrade: UpgradeHandler | undefined
  // And its opener, so a CONNECT's token is opened (a bad one is 407) before any TLS.
  let opener: ProxyOpener | undefined
  const keyhole: typeof honoKeyhole = (engineOptions) => {
    opener = engineOptions.opener
    engine = createProxy(engineOptions)
    upgrade = createUpgradeHandler(engineOptions)
    return honoKeyhole(engineOptions)
  }
  // Fresh tokens are decrypted on every core by default, but the threads exist only while there
  // is such work: none start before the first uncached open, and each stops after the idle
  // timeout, so a proxy at rest costs no worker memory. The worker script is built beside the
  // CLI's own bundle (its tsup entry decrypt-worker).
  const threads = options.decryptThreads ?? availableParallelism()
  const pool =
    threads > 0
      ? createDecryptPool({
          threads,
          idleTimeout: options.decryptIdleTimeout ?? '30s',
          workerUrl: new URL('./decrypt-worker.js', import.meta.url),
        })
      : undefined

  const load = () => loadKeys(options.keys, options.keysShown ?? options.keys, options.warn)
  let keys = await load()
  // Set when close() is called, before the listener stops: readiness turns 503 at once.
  let closing: Promise<void> | undefined
  // The admin routes read the current keyring on every request. They are made again only when
  // the newest issuer key (what /mint signs with) changes, so a reload keeps the rate limiter's count.
  let adminFor: { kid: string | undefined; routes: ReturnType<typeof admin> } | undefined
  const adminRoutes = (signWith: LoadedKeys['issuers'][number] | undefined) => {
    if (adminFor && adminFor.kid === signWith?.kid) return adminFor.routes
    const routes = admin({
      keyring: { publicJwks: () => keys.keyring.publicJwks() },
      store: revocations,
      limiter: adminFailures,
      ...(options.adminToken !== undefined && { adminToken: options.adminToken }),
      ...(signWith !== undefined && { signWith }),
      adminOffMessage:
        'admin routes are off; start keyhole serve with --admin-token-env <VAR> to enable them',
      // Draining on shutdown: load balancers stop sending here before the listener closes.
      ready: () => closing === undefined,
      onAction: (action) => {
        if (action.type === 'revoke') log(`${new Date().toISOString()} revoked jti=${field(action.jti)}`)
      },
    })
    adminFor = { kid: signWith?.kid, routes }
    return routes
  }

  let trustIssuers = options.trustIssuers ?? []
  const build = ({ keyring, issuers: own }: LoadedKeys, trusted = trustIssuers): Hono => {
    // Tokens signed by the key file's own issuer keys, and by every --trust-issuer.
    const issuers: IssuerOption[] = [
      ...(own.length > 0 ? [{ keys: { keys: own.map((key) => toPublicJwk(key)) } }] : []),
      ...trusted,
    ]
    const trust = {
      issuers,
      ...(options.acceptUnsigned && { acceptUnsigned: true }),
      // Known to the opener too: a grant naming a type the opener lacks is refused at open.
      ...(options.injectors && { injectors: options.injectors }),
    }
    // node:crypto decryption and signature check: the same checks as createOpener, less CPU per
    // uncached open; on worker threads unless --decrypt-threads 0 (a lone fresh token on an idle
    // proxy is opened on the event loop, which the hand-off to a worker would only slow down).
    const opener = pool
      ? createOpener({ keyring, revocations, decrypt: pool.decrypt, verify: pool.verify, ...trust })
      : createNodeOpener({ keyring, revocations, ...trust })
    const app = new Hono()
    // Without --metrics the route is not enabled: 404, as for any management route that is off
    // (not a token error from the proxy, which would take /metrics for a target).
    app.all('/metrics', (c) => {
      if (!metrics) return errorResponse('not_found', 'metrics are off (start with --metrics)')
      const method = c.req.method
      if (method === 'GET' || method === 'HEAD') return metrics.handle(c.req.raw, clientAddressOf(c.env))
      // As the other management routes answer a wrong method (not the proxy's "bad target").
      return errorResponse('not_found', '/metrics takes GET', { allow: 'GET, HEAD' })
    })
    app.use('*', adminRoutes(own.at(-1)))
    app.all(
      '/*',
      keyhole({
        opener,
        forward,
        onEvent,
        replayCache,
        ...(options.allowHosts ? { allowHosts: options.allowHosts } : {}),
        ...(options.allowPrivateAddresses ? { allowPrivateAddresses: options.allowPrivateAddresses } : {}),
        ...(options.tokenHeaders ? { tokenHeaders: options.tokenHeaders } : {}),
        // The forward-proxy engine is made from these same options (see `keyhole` above).
        ...(options.injectors ? { injectors: options.injectors } : {}),
        ...(options.scrub !== undefined ? { scrub: options.scrub } : {}),
      }),
    )
    return app
  }

  let app = build(keys)
  // Each request is handed to the app current when it arrives; a reload swaps `app` in one
  // assignment, so a request never sees half of an old and half of a new configuration.
  // @hono/node-server's listener, loaded with the first request other than GET /healthz.
  // requireHostHeader off: an HTTP/1.1 absolute-form request (`GET http://host/ HTTP/1.1`) takes
  // its target from the request line and may come without Host, which Node would refuse with a
  // bare 400 before keyhole sees it; an origin-form request without Host is 400 bad_target below.
  const server = createServer(
    { requireHostHeader: false },
    createFetchListener((request, env) => app.fetch(request, env)),
  )
  server.on('clientError', answerClientError)
  // Node keeps only the first 2,000 header lines by default and drops the rest in silence, so
  // the proxy would judge (and forward) another request than the one sent. The size limit (16 KiB,
  // then 431) still bounds them.
  server.maxHeadersCount = 0
  // `Expect: 100-continue`: the 100 goes out only once something starts reading the body (the
  // forwarder, an admin route), so a request refused on its token or policy gets the refusal
  // instead, and its client never uploads the body. Node would otherwise send 100 at once.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    req.once('resume', () => {
      if (!res.headersSent) res.writeContinue()
    })
    server.emit('request', req, res)
  })
  // Every WebSocket's client socket, whichever way it came (open mode, absolute form, tunnel):
  // the HTTP server no longer tracks upgraded sockets, so shutdown ends them itself.
  const websockets = new Set<Duplex>()
  const upgradeTracked: UpgradeHandler = (req, socket, head, context) => {
    websockets.add(socket)
    socket.once('close', () => websockets.delete(socket))
    ;(upgrade as UpgradeHandler)(req, socket, head, context)
  }
  // Every other upgrade goes to the engine's upgrade handler, which takes WebSockets to open-mode
  // paths and answers anything else with its JSON error (400 bad_target, bad_request) before
  // closing. Added before the forward proxy, which takes absolute-form upgrades ahead of this.
  server.on('upgrade', (req, socket, head) => upgradeTracked(req, socket, head))
  // The same port takes HTTP_PROXY/HTTPS_PROXY clients: absolute-form requests and upgrades, and
  // CONNECT with --ca.
  const forwardProxy = attachForwardProxy(server, {
    handler: (request, context) => (engine as ProxyHandler)(request, context),
    opener: { open: (token, info) => (opener as ProxyOpener).open(token, info) },
    upgrade: upgradeTracked,
    nodeBody: true,
    // The engine's private-address rule, so a CONNECT to a host it would never dial is 403 before any TLS.
    ...(options.allowPrivateAddresses ? { allowPrivateAddresses: options.allowPrivateAddresses } : {}),
    ...(options.allowHosts ? { allowHosts: options.allowHosts } : {}),
    // What the forward proxy refuses itself is logged and counted like any other request.
    onEvent,
    ...(options.ca ? { ca: options.ca } : {}),
    ...(options.tokenHeaders ? { tokenHeaders: options.tokenHeaders } : {}),
  })
  const drain = trackDrain(server)
  const hostname = options.hostname ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE')
        reject(
          new CliError(`port ${options.port ?? 8787} on ${hostname} is in use; choose another with --port`),
        )
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND')
        reject(new CliError(`cannot listen on ${hostname}: no such local address`))
      else if (error.code === 'EACCES')
        reject(new CliError(`not allowed to listen on port ${options.port ?? 8787}; use a port above 1023`))
      else
        reject(
          new CliError(`cannot listen on ${hostname}:${options.port ?? 8787} (${error.code ?? 'error'})`),
        )
    })
    server.listen(options.port ?? 8787, hostname, () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address

  let reloading: Promise<readonly string[]> | undefined
  return {
    url: `http://${host}:${address.port}`,
    kids: () => keys.keyring.kids(),
    issuerKids: () => keys.issuers.map((key) => key.kid),
    reload() {
      // Reloads run one at a time; a SIGHUP during a reload waits for it, then reads the file again.
      const previous = reloading ?? Promise.resolve([])
      const next = previous
        .catch(() => [])
        .then(async () => {
          const fresh = await load()
          // Trust files too: a broken one fails the reload like a broken key file, old set kept.
          const trusted = options.reloadTrustIssuers ? await options.reloadTrustIssuers() : trustIssuers
          const next = build(fresh, trusted)
          keys = fresh
          trustIssuers = trusted
          app = next
          return fresh.keyring.kids()
        })
      reloading = next
      return next
    },
    close(graceMs = 10_000, delayMs = 0) {
      closing ??= drain
        .stop({
          delayMs,
          graceMs,
          // CONNECT tunnels and WebSockets are hijacked sockets the HTTP server no longer
          // tracks; a WebSocket never finishes on its own, so at the drain timeout it is cut
          // (its upstream connection goes with it).
          cut: () => {
            forwardProxy.close()
            for (const socket of websockets) socket.destroy()
            websockets.clear()
          },
        })
        .then(async () => {
          forward.destroy()
          if (ownsRevocations) (revocations as ReturnType<typeof createMemoryStore>).close()
          await pool?.close()
        })
      return closing
    },
  }
}

/** The socket's address on @hono/node-server (`c.env.incoming`), as the admin routes read it. */
function clientAddressOf(env: unknown): string | undefined {
  const address = (env as { incoming?: { socket?: { remoteAddress?: unknown } } } | undefined)?.incoming
    ?.socket?.remoteAddress
  return typeof address === 'string' ? address : undefined
}
