import { type Duration, toSeconds } from '../duration.js'
import { isKeyholeError, KeyholeError, type KeyholeErrorCode } from '../errors.js'
import { authorize } from '../policy/authorize.js'
import { isToken } from '../policy/header-rules.js'
import { parseTarget, type Target } from '../policy/target.js'
import type { Grant, OpenInfo } from '../types.js'
import { checkTargetAddress } from './address-guard.js'
import { errorResponse, publicMessage } from './error-response.js'
import { emitEvent, type ProxyEvent, type ProxyEventListener } from './events.js'
import {
  APPLIES_TIMEOUT,
  CLEAN_RESPONSES,
  createFetchForwarder,
  type Forwarder,
  type ForwardInit,
} from './forward-fetch.js'
import { compileInjection, injectQuery } from './inject-credentials.js'
import { readToken, TOKEN_HEADER } from './read-token.js'
import { compileGatewayTarget, pathFromUrl, type RawTarget, resolveOpenTarget } from './resolve-target.js'
import { compileStripRules, copyRequestHeaders, toPassableResponse } from './sanitize-headers.js'

/** What the engine needs from an opener (`createOpener()` returns one). */
export interface ProxyOpener {
  open(token: string, info?: OpenInfo): Promise<Grant>
}

/** Options of {@link createProxy}. */
export interface ProxyOptions {
  /** Opens tokens and enforces expiry and revocation (`createOpener({ keyring, revocations })`). Required. */
  opener: ProxyOpener
  /**
   * Gateway mode: every request goes to this `http(s)://host[:port][/base]`, with the request
   * path below the mount point appended. The token's policy is still enforced. Because the
   * operator, not the caller, chose this host, it may be a private address. Default: open mode,
   * `/{scheme}/{host[:port]}/{path...}`.
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
   * Sends the request upstream and must reject once `init.signal` aborts (the timeout and the
   * client going away are delivered that way); `fetch` itself fits. Default: {@link createFetchForwarder}
   * (global fetch, `redirect: 'manual'`, streamed body). On Node use `createNodeForwarder()` from
   * `@keyhole/core/node`: faster, sends the path byte for byte, and checks the address it dials.
   */
  forward?: Forwarder
  /**
   * Connect plus response-headers timeout; past it the request's signal is aborted and the answer
   * is 504 `upstream_timeout`. Default `'30s'`; `0` waits forever.
   */
  timeout?: Duration
  /** Receives one event per request (outcome, token ids, target, timings; nothing secret). Errors it throws are ignored. */
  onEvent?: ProxyEventListener
  /**
   * Lets requests reach loopback, private, link-local and other non-public addresses. Default
   * `false`: such targets are refused with 403 `host_not_allowed` unless the grant names the
   * address literally (e.g. `http://127.0.0.1:8080`). Note that anyone holding the public JWKS
   * can mint a grant naming such an address.
   */
  allowPrivateAddresses?: boolean
  /**
   * Whether a grant that names a private address literally (`http://10.0.0.5:8080`) may reach
   * it. Default `true`, the rule of the wire protocol. Tokens are encrypted, not signed: anyone
   * holding the public JWKS can mint a grant naming, say, `http://169.254.169.254`. Set `false`
   * on a proxy whose sandboxes can read its JWKS and whose network reaches internal services;
   * then only `allowPrivateAddresses` or gateway mode reach private addresses.
   */
  grantsMayNamePrivateAddresses?: boolean
}

/** Per-request details an adapter may pass to the engine. */
export interface ProxyContext {
  /**
   * The raw path and query below the mount point, exactly as received (not decoded, not
   * normalized). Default: the path and query of `request.url`, for an engine mounted at `/`.
   */
  path?: string
  /**
   * Fires when the client goes away. Default: `request.signal`. Adapters that have a cheaper
   * way to learn about a closed connection than materializing `request.signal` pass it here.
   */
  signal?: AbortSignal
}

interface AuthorizedTarget {
  readonly method: string
  readonly url: string
  readonly target: Target
  readonly privateAddressAllowed: boolean
}

/** The proxy as a web-standard handler. */
export type ProxyHandler = (request: Request, context?: ProxyContext) => Promise<Response>

// The reason the engine aborts the upstream request with when the client goes away.
const CLIENT_GONE = new KeyholeError('upstream_unreachable', 'the client closed the connection')

type Phase = 'token' | 'open' | 'policy' | 'upstream'
const PHASE_DEFAULT: Record<Phase, KeyholeErrorCode> = {
  token: 'invalid_token',
  open: 'invalid_token',
  policy: 'bad_target',
  upstream: 'upstream_unreachable',
}

const SYSTEM_ERROR_CODE = /^[A-Z][A-Z0-9_]{1,40}$/

function upstreamFailure(error: unknown): KeyholeError {
  // fetch wraps the system error in `cause`; only its code (ECONNREFUSED, ENOTFOUND, ...) is
  // shown, never a message that could echo a URL with an injected query credential.
  let code: unknown
  for (let e: unknown = error, depth = 0; e && depth < 4 && code === undefined; depth++) {
    const candidate = (e as { code?: unknown }).code
    if (typeof candidate === 'string' && SYSTEM_ERROR_CODE.test(candidate)) code = candidate
    e = (e as { cause?: unknown }).cause
  }
  return new KeyholeError(
    'upstream_unreachable',
    code ? `the upstream could not be reached (${code})` : 'the upstream could not be reached',
    { cause: error },
  )
}

function abortForTimeout(controller: AbortController, ms: number): void {
  controller.abort(
    new KeyholeError('upstream_timeout', `the upstream sent no response headers within ${ms} ms`),
  )
}

function abortForClient(this: AbortController): void {
  this.abort(CLIENT_GONE)
}

/**
 * Creates the keyhole proxy: a web-standard `(request, context?) => Promise<Response>` handler
 * that reads the token, opens it, checks the target against the grant, strips every header
 * that could carry or leak authority, injects the grant's credentials and forwards with
 * `redirect: 'manual'`, streaming both bodies. Upstream responses, errors included, come back
 * untouched apart from hop-by-hop headers; the proxy's own errors are JSON with
 * `X-Keyhole-Error`. Mount it with `@keyhole/hono` or `@keyhole/express`, or call it directly.
 *
 * @example
 * ```ts
 * const opener = createOpener({ keyring })
 * const handle = createProxy({ opener, tokenHeaders: ['x-api-key'], onEvent: (e) => log.info(e) })
 * // GET /https/api.github.com/user with X-Keyhole-Token: <token>
 * const response = await handle(request, { path: '/https/api.github.com/user' })
 * ```
 */
export function createProxy(options: ProxyOptions): ProxyHandler {
  if (!options || typeof options.opener?.open !== 'function') {
    throw new KeyholeError('bad_request', 'createProxy needs an opener (createOpener({ keyring }))')
  }
  const opener = options.opener
  const tokenHeaders: string[] = []
  for (const name of options.tokenHeaders ?? []) {
    if (typeof name !== 'string' || !isToken(name)) {
      throw new KeyholeError('bad_request', 'tokenHeaders must be header names')
    }
    const lower = name.toLowerCase()
    // X-Keyhole-Token and Authorization are read already (the latter as a Bearer credential).
    if (lower !== TOKEN_HEADER && lower !== 'authorization' && !tokenHeaders.includes(lower))
      tokenHeaders.push(lower)
  }
  const rules = compileStripRules(tokenHeaders)
  const resolve: (rawPath: string) => RawTarget = options.upstream
    ? compileGatewayTarget(options.upstream)
    : resolveOpenTarget
  const gateway = options.upstream !== undefined
  const forward = options.forward ?? createFetchForwarder()
  const selfTimed = (forward as unknown as Record<symbol, unknown>)[APPLIES_TIMEOUT] === true
  const cleanResponses = (forward as unknown as Record<symbol, unknown>)[CLEAN_RESPONSES] === true
  // setTimeout cannot wait longer than 2^31-1 ms; anything longer is as good as forever.
  const timeoutMs = Math.min(toSeconds(options.timeout ?? '30s') * 1000, 2_147_483_647)
  const onEvent = options.onEvent
  const allowPrivate = options.allowPrivateAddresses === true
  const grantsMayNamePrivate = options.grantsMayNamePrivateAddresses !== false
  // The last request each grant was authorized for, per proxy (the address rules are this proxy's
  // options). authorize() and the address check are pure functions of (grant, method, target),
  // and an agent calls the same URL over and over; expiry and revocation are still checked by the
  // opener on every request, before this. Held weakly: it goes when the grant leaves the cache.
  const lastAuthorized = new WeakMap<Grant, AuthorizedTarget>()
  // Timings exist for events; without a listener the clock is not read at all.
  const tick: () => number = onEvent ? () => performance.now() : () => 0

  return async function keyholeProxy(request, context) {
    const started = tick()
    const method = request.method
    const info: OpenInfo = { cacheHit: false, openMs: 0, revocationMs: 0 }
    let phase: Phase = 'token'
    let token: string | undefined
    let raw: RawTarget | undefined
    let grant: Grant | undefined
    let target: Target | undefined
    let secrets: readonly string[] = []
    let tokenMs = 0
    let policyMs = 0
    let upstreamMs = 0
    let phaseStart = started
    let clientSignal: AbortSignal | undefined
    let response: Response
    let outcome: ProxyEvent['outcome'] = 'ok'

    try {
      const inbound = request.headers
      token = readToken(inbound, tokenHeaders)
      raw = resolve(context?.path ?? pathFromUrl(request.url))
      phaseStart = tick()
      tokenMs = phaseStart - started

      phase = 'open'
      grant = await opener.open(token, onEvent ? info : undefined)

      phase = 'policy'
      phaseStart = tick()
      let privateAddressAllowed: boolean
      const last = lastAuthorized.get(grant)
      if (last !== undefined && last.url === raw.url && last.method === method) {
        target = last.target
        privateAddressAllowed = last.privateAddressAllowed
      } else {
        target = authorize(grant, { method, url: raw.url })
        privateAddressAllowed =
          gateway || checkTargetAddress(target.host, grant, allowPrivate, grantsMayNamePrivate)
        lastAuthorized.set(grant, { method, url: raw.url, target, privateAddressAllowed })
      }
      const plan = compileInjection(grant)
      secrets = plan.secrets
      const now = tick()
      policyMs = now - phaseStart

      phase = 'upstream'
      phaseStart = now
      const bodyless = method === 'GET' || method === 'HEAD'
      const headers = copyRequestHeaders(inbound, rules, plan, bodyless)
      for (const [name, value] of plan.headers) headers[name] = value
      if (plan.cookieHeader !== undefined) headers.cookie = plan.cookieHeader
      const search = injectQuery(target.search, plan)
      const path = target.path + search
      const url = target.href.slice(0, target.href.length - target.search.length - target.path.length) + path

      clientSignal = context?.signal ?? request.signal
      const init: ForwardInit = {
        method,
        headers,
        body: bodyless ? null : request.body,
        signal: clientSignal,
        redirect: 'manual',
        duplex: 'half',
        keyhole: selfTimed
          ? {
              scheme: target.scheme,
              host: target.host,
              port: target.port,
              path,
              privateAddressAllowed,
              timeout: timeoutMs,
            }
          : { scheme: target.scheme, host: target.host, port: target.port, path, privateAddressAllowed },
      }
      let upstream: Response
      if (selfTimed) {
        // The forwarder applies the timeout and listens to the client's signal itself: no
        // controller, timer or listener of the engine's own on the hot path.
        upstream = await forward(url, init)
      } else {
        const controller = new AbortController()
        if (clientSignal) {
          if (clientSignal.aborted) controller.abort(CLIENT_GONE)
          else clientSignal.addEventListener('abort', abortForClient.bind(controller), { once: true })
        }
        init.signal = controller.signal
        // Forwarders reject as soon as the signal aborts (fetch does), so the deadline is just a
        // timer that aborts it.
        const timer =
          timeoutMs > 0 ? setTimeout(abortForTimeout, timeoutMs, controller, timeoutMs) : undefined
        try {
          upstream = await forward(url, init)
        } finally {
          clearTimeout(timer)
        }
        if (controller.signal.aborted) {
          // Headers arrived just as the deadline passed or the client left: too late to use them.
          upstream.body?.cancel().catch(() => {})
          throw controller.signal.reason
        }
      }
      // keyhole's node forwarder builds responses without hop-by-hop or X-Keyhole-* headers.
      response = cleanResponses ? upstream : toPassableResponse(upstream)
      upstreamMs = tick() - phaseStart
    } catch (thrown) {
      let error = thrown
      const elapsed = tick() - phaseStart
      if (phase === 'upstream') upstreamMs = elapsed
      else if (phase === 'policy') policyMs = elapsed
      else if (phase === 'open' && info.openMs === 0 && info.revocationMs === 0) info.openMs = elapsed
      let code: KeyholeErrorCode
      if (phase === 'upstream' && (error === CLIENT_GONE || clientSignal?.aborted)) {
        outcome = 'client_aborted'
        code = 'upstream_unreachable'
      } else if (isKeyholeError(error)) {
        code = error.code
      } else {
        code = PHASE_DEFAULT[phase]
        if (phase === 'upstream') error = upstreamFailure(error)
      }
      if (outcome !== 'client_aborted') outcome = code
      response = errorResponse(code, publicMessage(code, error, token ? [token, ...secrets] : secrets))
    }

    if (onEvent) {
      const event: ProxyEvent = {
        outcome,
        status: outcome === 'client_aborted' ? 499 : response.status,
        method,
        timings: {
          token: tokenMs,
          open: info.openMs,
          revocation: info.revocationMs,
          policy: policyMs,
          upstream: upstreamMs,
          total: tick() - started,
        },
      }
      if (grant) {
        event.jti = grant.jti
        event.kid = grant.kid
        if (grant.sub !== undefined) event.sub = grant.sub
        event.cacheHit = info.cacheHit
      } else if (info.jti !== undefined) {
        // Opened, then refused (expired, not yet valid, revoked): still say which token it was.
        event.jti = info.jti
        if (info.kid !== undefined) event.kid = info.kid
        if (info.sub !== undefined) event.sub = info.sub
        event.cacheHit = info.cacheHit
      }
      if (raw) {
        event.scheme = raw.scheme
        event.path = raw.path
        let where = target
        if (!where) {
          try {
            where = parseTarget(raw.url)
          } catch {
            // Unparsable target: the event keeps what the path said.
          }
        }
        if (where) {
          event.host = where.host
          event.port = where.port
          event.path = where.path
        }
      }
      emitEvent(onEvent, event)
    }
    return response
  }
}
