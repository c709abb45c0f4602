import { isKeyholeError, KeyholeError } from '../errors.js'
import { type Admission, compileAdmission } from '../pipeline/admission.js'
import { applyInjectors, needsBody } from '../pipeline/apply-injectors.js'
import { authorizeTarget } from '../pipeline/authorize-target.js'
import { bufferBody } from '../pipeline/buffer-body.js'
import { buildUpstream } from '../pipeline/build-upstream.js'
import { checkBodyMethod, restrictsMethods } from '../pipeline/check-body-method.js'
import { checkProof } from '../pipeline/check-proof.js'
import { fail } from '../pipeline/fail.js'
import { compileForwarding, type Forwarding } from '../pipeline/forwarding.js'
import { openGrant } from '../pipeline/open-grant.js'
import type { AdmissionOptions, ProxyContext, ProxyOptions } from '../pipeline/options.js'
import { readRequest } from '../pipeline/read-request.js'
import { type RequestState, startRequest } from '../pipeline/request-state.js'
import { scrubResponse } from '../pipeline/scrub-response.js'
import type { Grant } from '../types.js'
import { decodedByFetch } from './forward-fetch.js'
import { type InjectionPlan, injectCredentials } from './inject-credentials.js'
import { sanitizeHeaders, toPassableResponse } from './sanitize-headers.js'

/**
 * Options of {@link createRequestAuthorizer} (and of the adapters' `keyholeAuth`): the engine's
 * admission options, with `upstream` required.
 */
export interface RequestAuthorizerOptions extends Omit<AdmissionOptions, 'upstream' | 'onEvent'> {
  /**
   * The upstream the gateway forwards to, `http(s)://host[:port][/base]`. The target the token is
   * checked against is this plus the request path below the mount point. Required.
   */
  upstream: string | URL
  /**
   * Sends the side requests some credentials need (an OAuth2 token endpoint), through the same
   * address rules as the engine. Default: `fetch` (the gateway's upstream is the operator's; a
   * token endpoint must then lie inside `allowHosts`). On Node pass `createNodeForwarder()`.
   */
  forward?: ProxyOptions['forward']
  /** Timeout of those side requests. Default `'30s'`. */
  timeout?: ProxyOptions['timeout']
}

/** An authorized request, for gateways that forward requests themselves. */
export interface AuthorizedRequest {
  /** The opened, authorized grant (frozen). Its `inject` values are secrets: never log them. */
  readonly grant: Grant
  /** The authorized target: `upstream` + the path and query below the mount point, as received. */
  readonly target: string
  /**
   * The request to send upstream, built by the engine's own stage: to `target` (with injected
   * query parameters), with the method, headers and body of `request` minus everything the engine
   * strips (the token headers, `Authorization`, `Proxy-Authorization`, hop-by-hop headers and
   * those named in `Connection`, `Host`, `Forwarded`, `X-Forwarded-*`, headers the grant injects,
   * `Cookie` when it injects a cookie), plus every credential the grant injects, and
   * `redirect: 'manual'`. A method other than the authorized one is checked against the grant
   * first. Rejects with `KeyholeError`. Default `request`: the one that was authorized (the
   * incoming request, in the adapters).
   */
  prepare(request?: Request): Promise<Request>
  /**
   * The upstream's response as it may go back to the sandbox: the grant's secrets, and those an
   * injector produced for this request, masked in its headers and (with `scrub: true`, the
   * default) its body as it streams; a body in an encoding that cannot be decoded throws
   * `response_not_scrubbable`. Pass the `Response` `fetch` returned as it is: fetch decodes
   * gzip/deflate/br itself but keeps `Content-Encoding`, which `scrub` then knows to ignore.
   */
  scrub(response: Response): Response
  /**
   * Strips `headers` in place as {@link AuthorizedRequest.prepare} does and sets the grant's
   * credentials. Pass `url` (the URL you will send to) when the grant injects a query parameter;
   * it is checked against the grant first. Throws `KeyholeError`.
   *
   * @deprecated Use `prepare(request)`, which builds the whole outgoing request.
   */
  inject(headers: Headers, url?: URL): void
  /**
   * The engine's JSON error response (the code's status, `{"error":{"code","message"}}`,
   * `X-Keyhole-Error`, a message that never echoes a credential) for a `KeyholeError` that this
   * request's `prepare()`, `scrub()` or `inject()` threw; `undefined` for any other error, which
   * stays the application's. What the adapters answer with when a handler lets such an error
   * through.
   *
   * @example
   * ```ts
   * try { return authorized.scrub(await fetch(await authorized.prepare())) }
   * catch (error) { return authorized.errorResponse(error) ?? Response.error() }
   * ```
   */
  errorResponse(error: unknown): Response | undefined
}

// The KeyholeErrors an AuthorizedRequest's own methods threw: only those are answered by
// errorResponse(), so an error the application made stays the application's.
const thrownByAuthorized = new WeakSet<object>()

function marked(error: unknown): unknown {
  if (isKeyholeError(error)) thrownByAuthorized.add(error)
  return error
}

/**
 * The checks of `keyholeAuth` in the Hono and Express adapters: the engine's own pipeline stages
 * (read token, open, authorize against the grant, `allowHosts` and the address rule) over
 * `upstream` + the path below the mount point, without sending anything. Resolves to an
 * {@link AuthorizedRequest}, or to the engine's JSON error `Response` (`X-Keyhole-Error`) when
 * the request is refused — the same status and code the engine would answer with, never an
 * error that could carry the token.
 *
 * @example
 * ```ts
 * const check = createRequestAuthorizer({ opener, upstream: 'https://api.github.com' })
 * const result = await check(request, { path: '/user' })
 * if (result instanceof Response) return result
 * return result.scrub(await fetch(await result.prepare()))
 * ```
 */
export function createRequestAuthorizer(
  options: RequestAuthorizerOptions,
): (request: Request, context?: ProxyContext) => Promise<AuthorizedRequest | Response> {
  if (options && typeof options.opener?.open === 'function' && options.upstream === undefined) {
    throw new KeyholeError('bad_request', 'keyholeAuth needs { upstream }')
  }
  const { onEvent: _ignored, ...admissionOptions } = (options ?? {}) as AdmissionOptions
  const admission = compileAdmission(admissionOptions, 'keyholeAuth')
  // Only side requests (an OAuth2 token endpoint) are sent by keyholeAuth itself.
  const forwarding = compileForwarding(options as ProxyOptions, admission)

  return async function authorizeRequest(request, context) {
    const state = startRequest(admission, request, context)
    try {
      readRequest(state, admission)
      state.grant = await openGrant(state, admission)
      authorizeTarget(state, admission)
      if (state.grant.cnf !== undefined) await checkProof(state, admission)
      if (restrictsMethods(state.grant)) await checkBodyMethod(state, admission.maxBufferedBody)
    } catch (thrown) {
      fail(state, admission, thrown)
      return state.response as Response
    }
    return authorizedRequest(state, admission, forwarding)
  }
}

function authorizedRequest(
  authorized: RequestState,
  admission: Admission,
  forwarding: Forwarding,
): AuthorizedRequest {
  const grant = authorized.grant as Grant
  const target = (authorized.raw as { url: string }).url
  const prepare = async (request: Request = authorized.request): Promise<Request> => {
    const state: RequestState = { ...authorized, request, method: request.method }
    if (state.method !== authorized.method) authorizeTarget(state, admission)
    if (request !== authorized.request) state.buffered = undefined
    const plan = state.plan as InjectionPlan
    if (plan.steps.length > 0 && needsBody(plan, request.headers)) {
      await bufferBody(state, admission.maxBufferedBody)
    }
    buildUpstream(state, admission)
    if (plan.steps.length > 0) await applyInjectors(state, admission, forwarding)
    // What an injector produced for this request (a token, a signature) is scrubbed too.
    authorized.producedSecrets = state.producedSecrets
    const init: RequestInit & { duplex: 'half' } = {
      method: state.method,
      headers: state.headers as Record<string, string>,
      body: state.body,
      redirect: 'manual',
      duplex: 'half',
    }
    // The adapter's client-gone signal, when it gave one (request.signal is not read: Deno warns).
    const signal = authorized.context?.signal
    if (signal) init.signal = signal
    return new Request(state.url, init)
  }
  const scrub = (response: Response): Response => {
    // A response straight from fetch (type 'basic', 'cors'; a constructed one is 'default') has
    // a body fetch already decoded under a Content-Encoding it left in place: scrubbed as is.
    const fetched = response.type !== 'default' && decodedByFetch(response, authorized.method)
    const passable = fetched ? toPassableResponse(response, ['content-encoding', 'content-length']) : response
    return scrubResponse(authorized, admission, forwarding, passable)
  }
  const inject = (headers: Headers, url?: URL): void => {
    if (url === undefined) {
      if (authorized.plan?.query) {
        throw new KeyholeError(
          'bad_request',
          'this grant injects a query parameter: pass the URL you forward to, inject(headers, url)',
        )
      }
    } else {
      const raw = { ...(authorized.raw as NonNullable<RequestState['raw']>), url: url.href }
      authorizeTarget({ ...authorized, raw }, admission)
    }
    const kept = sanitizeHeaders(headers, { grant, tokenHeaders: admission.tokenHeaders })
    for (const name of [...headers.keys()]) if (!kept.has(name)) headers.delete(name)
    injectCredentials(grant, url ?? new URL(target), headers)
  }
  return Object.freeze({
    grant,
    target,
    prepare(request?: Request): Promise<Request> {
      return prepare(request).catch((error: unknown) => {
        throw marked(error)
      })
    },
    scrub(response: Response): Response {
      try {
        return scrub(response)
      } catch (error) {
        throw marked(error)
      }
    },
    inject(headers: Headers, url?: URL): void {
      try {
        inject(headers, url)
      } catch (error) {
        throw marked(error)
      }
    },
    errorResponse(error: unknown): Response | undefined {
      if (typeof error !== 'object' || error === null || !thrownByAuthorized.has(error)) return undefined
      // The engine's error stage, on a copy: the same response the engine would have answered.
      const state: RequestState = { ...authorized }
      fail(state, admission, error)
      return state.response
    },
  })
}
