import { createProof, PROOF_HEADER } from './create-proof.js'
import { KeyholeClientError } from './errors.js'
import { compileGateway, type GatewayRoute } from './gateway-url.js'
import { urlTarget } from './match-host.js'
import type { ProofKey } from './proof-key.js'
import { exactSearch, parseCallUrl, proxiedPrefix, proxyBase } from './proxied-url.js'
import { createTokenTable } from './token-table.js'

/** The header the client puts the token in (the proxy reads it first). */
export const TOKEN_HEADER = 'X-Keyhole-Token'

/** A `fetch`-compatible function. */
export type KeyholeFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** Options for {@link createFetch}. */
export interface CreateFetchOptions {
  /** The keyhole proxy's base URL, e.g. `http://127.0.0.1:8787` or `https://gw.example.com/keyhole`. */
  readonly proxy: string | URL
  /**
   * Keyhole tokens, routed by the `hosts` hint in each token's public header; or a record from
   * host pattern to token when you want to route explicitly.
   */
  readonly tokens: readonly string[] | Readonly<Record<string, string>>
  /** The fetch to send with. Default: `globalThis.fetch`, looked up on every call. */
  readonly fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>
  /**
   * Send a request that no token matches straight to its URL, without the proxy (and without any
   * `X-Keyhole-Token` header). Default `false`: such a request is refused with
   * `no_token_for_host` and nothing is sent.
   */
  readonly passthrough?: boolean
  /**
   * The key the tokens are bound to (`generateProofKey()`): every proxied call then carries a
   * fresh `Keyhole-Proof` for its method and target URL. Default: none (unbound tokens).
   */
  readonly proofKey?: ProofKey
  /**
   * Gateway mode: the upstream the gateway at `proxy` forwards to (its `upstream` option), e.g.
   * `proxy: 'https://gw.example.com/github'` with `upstream: 'https://api.github.com'`. A call to
   * a URL under `upstream` is sent to the same path under `proxy`, a call to a URL under `proxy`
   * as it is; the token is picked, and a proof's `htu` computed, for `upstream` plus the path
   * below the mount. Default: open mode (`{proxy}/{scheme}/{host}/...`).
   */
  readonly upstream?: string | URL
}

// The methods fetch upper-cases whatever case they are written in (as the proxy sees them).
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])

function wireMethod(method: string | undefined): string {
  if (method === undefined) return 'GET'
  const upper = method.toUpperCase()
  return NORMALIZED_METHODS.has(upper) ? upper : method
}

type Init = RequestInit & { duplex?: 'half' }

/**
 * A mutable copy of request headers. A `Headers` is copied entry by entry: `new Headers(headers)`
 * loses entries when a fetch interceptor such as msw has patched `Headers` to record raw names.
 */
function copyHeaders(source: HeadersInit | undefined): Headers {
  if (!(source instanceof Headers)) return new Headers(source)
  const copy = new Headers()
  source.forEach((value, name) => {
    copy.append(name, value)
  })
  return copy
}

function isStream(body: unknown): boolean {
  return typeof ReadableStream !== 'undefined' && body instanceof ReadableStream
}

/**
 * Returns a `fetch` that sends every call through the keyhole proxy with the token that goes
 * with its URL: `https://api.github.com/x?y` becomes `{proxy}/https/api.github.com/x?y` with
 * `X-Keyhole-Token: <token>`; a non-default port stays in the path (`/https/host:8443/...`).
 *
 * - Accepts strings, `URL`s and `Request`s; keeps method, headers, body (streams too), `signal`,
 *   `redirect` and the other request options.
 * - Any `X-Keyhole-Token` the caller set is replaced (or removed, for passthrough), so a token
 *   meant for one host is never sent along with a request to another.
 * - The path's percent-encoding and the query are kept exactly; dot-segments are resolved as
 *   fetch itself resolves them (the proxied URL is parsed again by fetch, so `..` can never climb
 *   out of the `/{scheme}/{host}/` prefix). The fragment is never sent.
 * - A URL no token matches is refused with `KeyholeClientError('no_token_for_host')` before
 *   anything is sent, unless `passthrough: true`.
 * - Redirects are followed here, not by the underlying fetch (which would send the request,
 *   `X-Keyhole-Token` included, straight to whatever host the `Location` names): each hop is a
 *   new call of this function for the `Location` resolved against the target URL, so it gets the
 *   token for its own host, is refused, or (with `passthrough`) goes out without a token.
 *   `redirect: 'manual'` returns the 3xx, `'error'` rejects, as fetch does; at most 20 hops;
 *   301/302 turn a POST, and 303 anything but HEAD, into a GET without a body; a 307/308 with a
 *   streamed body cannot be replayed and rejects.
 *
 * @throws KeyholeClientError `invalid_options` or `invalid_token` when the options are unusable
 * @example
 * ```ts
 * import OpenAI from 'openai'
 * import { createFetch } from '@keyhole/client'
 *
 * const fetch = createFetch({ proxy: 'http://127.0.0.1:8787', tokens: [process.env.OPENAI_KEYHOLE_TOKEN!] })
 * const openai = new OpenAI({ apiKey: 'unused', fetch })
 * ```
 */
export function createFetch(options: CreateFetchOptions): KeyholeFetch {
  if (typeof options !== 'object' || options === null) {
    throw new KeyholeClientError('invalid_options', 'createFetch needs { proxy, tokens }')
  }
  const base = proxyBase(options.proxy)
  const table = createTokenTable(options.tokens)
  const passthrough = options.passthrough === true
  const send = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const proofKey = options.proofKey
  const gateway: GatewayRoute | undefined =
    options.upstream === undefined ? undefined : compileGateway(options.proxy, options.upstream)

  async function keyholeFetch(
    input: string | URL | Request,
    init?: RequestInit,
    hops = 0,
  ): Promise<Response> {
    const request = input instanceof Request ? input : undefined
    const url = parseCallUrl(
      request !== undefined ? request.url : input instanceof URL ? input.href : String(input),
    )
    const call = gateway?.(url)
    // The URL the request is for: in gateway mode the upstream's, whatever URL was called.
    const targetUrl = gateway === undefined ? url : call?.target
    const target = targetUrl === undefined ? undefined : urlTarget(targetUrl)
    const token = target === undefined ? undefined : table.pick(target)

    if (token === undefined) {
      if (!passthrough) {
        const where =
          target !== undefined
            ? `${url.protocol}//${url.host}`
            : gateway !== undefined
              ? `${url.protocol}//${url.host} (outside the gateway's upstream)`
              : url.protocol
        throw new KeyholeClientError(
          'no_token_for_host',
          `no keyhole token for ${where}${hops > 0 ? ' (a redirect led there)' : ''}; the request was not sent`,
        )
      }
      return send(...withoutToken(input, init))
    }

    const proxied = call?.sendTo ?? `${proxiedPrefix(base, url)}${url.pathname}${exactSearch(url)}`
    // A fresh proof for every call, for the target URL (not the proxy's) and the method as sent.
    const proof =
      proofKey === undefined
        ? undefined
        : await createProof(proofKey, {
            method: wireMethod(init?.method ?? request?.method),
            url: targetUrl as URL,
            token,
          })
    if (request === undefined) {
      const headers = copyHeaders(init?.headers)
      headers.delete(TOKEN_HEADER)
      headers.set(TOKEN_HEADER, token)
      headers.delete(PROOF_HEADER)
      if (proof !== undefined) headers.set(PROOF_HEADER, proof)
      const out: Init = { ...init, headers, redirect: 'manual' }
      if (isStream(out.body)) out.duplex = 'half'
      const response = await send(proxied, out)
      return followed(response, targetUrl as URL, init?.redirect ?? 'follow', hops, () => ({
        method: init?.method,
        headers: init?.headers,
        body: init?.body,
        replayable: !isStream(init?.body),
        signal: init?.signal,
        rest: init,
      }))
    }
    const source = init === undefined ? request : new Request(request, withDuplex(init))
    const headers = copyHeaders(source.headers)
    headers.delete(TOKEN_HEADER)
    headers.set(TOKEN_HEADER, token)
    headers.delete(PROOF_HEADER)
    if (proof !== undefined) headers.set(PROOF_HEADER, proof)
    const out: Init = {
      method: source.method,
      headers,
      body: source.body,
      signal: source.signal,
      redirect: 'manual',
      credentials: source.credentials,
      cache: source.cache,
      integrity: source.integrity,
      keepalive: source.keepalive,
      referrerPolicy: source.referrerPolicy,
    }
    if (source.body !== null) out.duplex = 'half'
    const response = await send(proxied, out)
    return followed(response, targetUrl as URL, source.redirect, hops, () => ({
      method: source.method,
      headers: source.headers,
      body: null,
      replayable: source.body === null,
      signal: source.signal,
      rest: undefined,
    }))
  }

  /** The response, or (for a redirect to follow) the next hop's, sent through keyholeFetch again. */
  async function followed(
    response: Response,
    from: URL,
    mode: RequestRedirect,
    hops: number,
    original: () => OriginalCall,
  ): Promise<Response> {
    const location = REDIRECTS.has(response.status) ? response.headers.get('location') : null
    if (location === null || mode === 'manual') return response
    await response.body?.cancel().catch(() => {})
    if (mode === 'error') throw new TypeError(`fetch failed: redirect mode is "error" (${response.status})`)
    if (hops >= MAX_REDIRECTS) throw new TypeError('fetch failed: too many redirects')
    let next: URL
    try {
      next = new URL(location, from)
    } catch {
      throw new TypeError('fetch failed: the redirect location is not a URL')
    }
    if (next.protocol !== 'https:' && next.protocol !== 'http:')
      throw new TypeError('fetch failed: a redirect to a URL that is not http(s)')
    const call = original()
    const method = wireMethod(call.method)
    const toGet =
      ((response.status === 301 || response.status === 302) && method === 'POST') ||
      (response.status === 303 && method !== 'GET' && method !== 'HEAD')
    const headers = copyHeaders(call.headers)
    if (toGet) for (const name of BODY_HEADERS) headers.delete(name)
    // As fetch does: the caller's own credentials do not follow a redirect to another origin.
    if (next.origin !== from.origin) for (const name of CROSS_ORIGIN_DROPPED) headers.delete(name)
    const init: Init = { ...call.rest, method: toGet ? 'GET' : method, headers, redirect: 'follow' }
    delete init.body
    delete init.duplex
    if (call.signal) init.signal = call.signal
    if (!toGet && call.body !== undefined && call.body !== null) init.body = call.body
    if (!toGet && !call.replayable)
      throw new TypeError(`fetch failed: a ${response.status} redirect cannot replay a streamed request body`)
    return keyholeFetch(next, init, hops + 1)
  }

  return (input, init) => keyholeFetch(input, init)
}

interface OriginalCall {
  readonly method: string | undefined
  readonly headers: HeadersInit | undefined
  readonly body: BodyInit | null | undefined
  /** The body can be sent again (not a stream, or none). */
  readonly replayable: boolean
  readonly signal: AbortSignal | null | undefined
  readonly rest: RequestInit | undefined
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const MAX_REDIRECTS = 20
const BODY_HEADERS = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
]
const CROSS_ORIGIN_DROPPED = ['authorization', 'cookie', 'proxy-authorization']

function withDuplex(init: RequestInit): Init {
  return isStream(init.body) && (init as Init).duplex === undefined ? { ...init, duplex: 'half' } : init
}

/** The call as the caller made it, minus any X-Keyhole-Token header. */
function withoutToken(
  input: string | URL | Request,
  init?: RequestInit,
): [string | URL | Request, RequestInit?] {
  if (input instanceof Request) {
    const source = init === undefined ? input : new Request(input, withDuplex(init))
    if (!source.headers.has(TOKEN_HEADER)) return [source]
    const headers = copyHeaders(source.headers)
    headers.delete(TOKEN_HEADER)
    return [new Request(source, { headers })]
  }
  if (init?.headers === undefined) return [input, init]
  const headers = copyHeaders(init.headers)
  if (!headers.has(TOKEN_HEADER)) return [input, init]
  headers.delete(TOKEN_HEADER)
  return [input, withDuplex({ ...init, headers })]
}
