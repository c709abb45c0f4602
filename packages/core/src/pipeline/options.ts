import type { Duration } from '../duration.js'
import type { Injector } from '../inject/injector.js'
import type { InjectorRegistry } from '../inject/registry.js'
import type { HostRule } from '../policy/host-pattern.js'
import type { ReplayCache } from '../proof/replay-cache.js'
import type { ProxyEventListener } from '../proxy/events.js'
import type { Forwarder } from '../proxy/forward-fetch.js'
import type { Grant, OpenInfo } from '../types.js'

/** What the engine needs from an opener (`createOpener()` returns one). */
export interface ProxyOpener {
  open(token: string, info?: OpenInfo): Promise<Grant>
  /**
   * True when the opener accepts unsigned grants (`createOpener({ acceptUnsigned: true })`); the
   * engine then insists on `allowHosts`, since unsigned and unbounded is an open relay.
   */
  readonly acceptsUnsigned?: boolean
  /** The credential types the opener validates entries with; the engine applies them with the same. */
  readonly injectors?: InjectorRegistry
  /** The host scope of a trusted issuer (undefined: any host); side requests must stay inside it. */
  issuerScope?(issuerKid: string): readonly HostRule[] | undefined
}

/**
 * The options the engine and `keyholeAuth` share: how the token is read, where the target comes
 * from and which targets the operator lets any grant reach.
 */
export interface AdmissionOptions {
  /** Opens tokens and enforces expiry and revocation (`createOpener({ keyring, issuers })`). Required. */
  opener: ProxyOpener
  /**
   * Gateway mode: every request goes to this `http(s)://host[:port][/base]`, with the request
   * path below the mount point appended. The token's policy (and `allowHosts`) is still
   * enforced. Because the operator, not the caller, chose this host, it may be a private address.
   * Default: open mode, `/{scheme}/{host[:port]}/{path...}`.
   */
  upstream?: string | URL
  /**
   * More header names that may carry the token, after `X-Keyhole-Token` and
   * `Authorization: Bearer` (e.g. `['x-api-key']`, so an SDK works with only its base URL and
   * API key changed). They are always stripped before forwarding. Listing `Authorization` or
   * `X-Keyhole-Token` changes nothing (both are read anyway). Default: none.
   */
  tokenHeaders?: readonly string[]
  /**
   * Host patterns, read exactly like a grant's (`api.github.com`, `*.example.com:8443`,
   * `http://10.0.0.5:8080`; scheme and port locked), that every target must match in addition to
   * the grant; anything else is 403 `host_not_allowed` and nothing is dialed. Required when the
   * opener accepts unsigned tokens. Default: any public host.
   */
  allowHosts?: readonly string[]
  /**
   * Lets requests reach private, loopback and link-local addresses: `true` for all of them, or
   * a list of CIDR ranges (`['10.1.0.0/16', 'fd00::/8']`; an invalid one throws here). Local-only
   * names (`localhost`, `*.local`, `*.internal`, ...) pass only with this set. Default `false`:
   * such targets are 403 `host_not_allowed` unless a signed grant names the address literally
   * (`http://10.0.0.5:8080`); an unsigned grant never reaches a private address by naming it.
   */
  allowPrivateAddresses?: boolean | readonly string[]
  /** Receives one event per request (outcome, token ids, target, timings; nothing secret). Errors it throws are ignored. */
  onEvent?: ProxyEventListener
  /**
   * Where the `jti`s of proofs of possession are claimed, so a captured `Keyhole-Proof` cannot be
   * replayed. Several replicas must share one (`@keyhole/redis`, `@keyhole/postgres`). Default: a
   * new in-memory cache (`createMemoryReplayCache()`).
   */
  replayCache?: ReplayCache
  /**
   * The most of a request body the engine reads into memory when it must see it (a `_method`
   * form field under a method restriction, body and signing credentials); beyond it the answer is
   * 413 `body_too_large` and nothing is forwarded. Default 1 MiB.
   */
  maxBufferedBody?: number
  /**
   * More credential types (plug-ins implementing `Injector`), beside the built-in header, query,
   * cookie, basic, body, hmac and oauth2 (and `aws-sigv4` from `@keyhole/aws`). The opener
   * validates entries at open: a `createOpener` opener is taught the types it lacks
   * (`opener.addInjectors`); an opener that cannot learn them makes `createProxy` refuse a type
   * it does not know. Default: the opener's.
   */
  injectors?: readonly Injector<never>[]
  /**
   * Masks every injected secret (and every derived form: base64, percent-encoded, hex,
   * JSON-escaped, ...) that an upstream echoes back. `true` (default): response headers and
   * bodies — the proxy then asks for `Accept-Encoding: identity`, decodes gzip/deflate/br if they
   * come anyway, and never forwards `Range`/`If-Range` (a secret fetched in slices evades the
   * search); `'headers'`: headers only; `false`: off.
   */
  scrub?: boolean | 'headers'
  /** How far a proof's `iat` may be from now, either side. Default `'60s'`. */
  proofWindow?: Duration
  /** The clock for proof freshness, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/** Options of `createProxy`. */
export interface ProxyOptions extends AdmissionOptions {
  /**
   * Sends the request upstream and must reject once `init.signal` aborts (the timeout and the
   * client going away are delivered that way); `fetch` itself fits. Default: `createFetchForwarder()`
   * (global fetch, `redirect: 'manual'`, streamed body), which cannot check the addresses it
   * dials, so in open mode it needs `allowHosts` (or a runtime without private networks). On
   * Node use `createNodeForwarder()` from `@keyhole/core/node`: faster, sends the path byte for
   * byte, and checks the address it dials.
   */
  forward?: Forwarder
  /**
   * Connect plus response-headers timeout; past it the request's signal is aborted and the answer
   * is 504 `upstream_timeout`. Default `'30s'`; `0` waits forever.
   */
  timeout?: Duration
}

/** Per-request details an adapter may pass to the engine. */
export interface ProxyContext {
  /**
   * The raw path and query below the mount point, exactly as received (not decoded, not
   * normalized). Default: the path and query of `request.url`, for an engine mounted at `/`.
   */
  path?: string
  /**
   * Fires when the client goes away. Default: `request.signal` (on Deno, the `completed` promise
   * of the `info` that `Deno.serve` passes as this context). Adapters that have a cheaper way to
   * learn about a closed connection than materializing `request.signal` pass it here.
   */
  signal?: AbortSignal
  /**
   * Deno's `info.completed` (what `Deno.serve` passes beside the request): rejects when the client
   * aborts. Used instead of `request.signal`, which Deno warns about. Read only without `signal`.
   */
  completed?: Promise<unknown>
  /**
   * Ends the client's connection at once. When a response body the engine is scrubbing fails
   * after the head went out (an upstream reset, a compressed body that turns invalid), the engine
   * calls this and then ends the body stream quietly, instead of erroring it: a server that logs
   * stream errors and appends their message to the body (`@hono/node-server`) stays quiet, and the
   * client still sees a cut connection, never a body that looks complete. Default: the body
   * stream errors, and the server ends the connection as it does for any failed stream.
   */
  abort?: () => void
  /**
   * Rewrites the engine's own refusals (any outcome but `ok`) before they are returned and
   * before the request's event, so the event's status is what the client got: the forward proxy
   * turns token failures into 407s this way. Default: as they are.
   */
  respond?: (response: Response) => Response
  /**
   * A middleware in front of the engine already read the request body (a body parser), so it
   * cannot be forwarded: the engine answers 400 `bad_request` (JSON, with its event) instead of
   * sending an empty body under the original `Content-Length`. A web `Request` whose `bodyUsed`
   * is set is refused the same way without it. Default: `false`.
   */
  bodyRead?: boolean
}
