import { KeyholeError } from '../errors.js'
import { toPassableResponse } from './sanitize-headers.js'

/** Where the engine is sending a request, for forwarders that dial themselves. */
export interface ForwardTarget {
  readonly scheme: 'http' | 'https'
  /** The normalized host the policy authorized (IPv6 literals in brackets). */
  readonly host: string
  readonly port: number
  /** The path and query exactly as they are to be sent (credentials already injected). */
  readonly path: string
  /**
   * True when this request may reach a private, loopback or link-local address: the grant names
   * the address literally, or the proxy was created with `allowPrivateAddresses`.
   */
  readonly privateAddressAllowed: boolean
  /**
   * Connect plus response-headers timeout in ms, set only for forwarders that apply it themselves
   * (marked with {@link APPLIES_TIMEOUT}); they then reject with `upstream_timeout`. Absent or 0:
   * the engine times the request by aborting `signal`.
   */
  readonly timeout?: number
}

/**
 * Marks a forwarder that applies `init.keyhole.timeout` itself: the engine then passes the
 * client's own signal instead of creating an AbortController per request. Internal to core.
 */
export const APPLIES_TIMEOUT: unique symbol = Symbol.for('keyhole.forwarder.appliesTimeout')

/**
 * Marks keyhole's own forwarder whose responses never carry hop-by-hop or `X-Keyhole-*` headers,
 * so the engine passes them on without another look. Deliberately not a registered symbol: only
 * core's node forwarder can carry it. Internal to core.
 */
export const CLEAN_RESPONSES: unique symbol = Symbol('keyhole.forwarder.cleanResponses')

/**
 * Marks a forwarder that takes a Node `Readable` as `init.body` (the node forwarder pipes it into
 * the upstream request), so a Node adapter can hand over the request itself instead of a web
 * stream over it. A registered symbol, so adapters that import nothing of Node find it by shape.
 */
export const TAKES_NODE_STREAMS: unique symbol = Symbol.for('keyhole.forwarder.takesNodeStreams')

/**
 * What the engine hands a forwarder: a `RequestInit` that `fetch` accepts as it is, plus the
 * target as the engine authorized it (`keyhole`), so a forwarder that dials itself can send the
 * path byte for byte and apply the address policy to the address it actually connects to.
 */
export interface ForwardInit {
  method: string
  /** Headers to send, lower-case names (injected ones keep the grant's spelling); owned by the forwarder. */
  headers: Record<string, string>
  /** The request body, streamed; `null` for GET and HEAD. */
  body: ReadableStream<Uint8Array> | null
  /** Aborted when the client goes away or the connect/headers timeout fires (absent only when no one can abort). */
  signal?: AbortSignal
  redirect: 'manual'
  duplex: 'half'
  keyhole?: ForwardTarget
}

/**
 * Sends one request upstream and resolves with the response as soon as its headers arrive,
 * never following redirects, and rejects as soon as `init.signal` aborts (the engine's timeout
 * and the client going away arrive that way; aborting later must end the response body).
 * `fetch` itself fits this type.
 */
export type Forwarder = (url: string, init: ForwardInit) => Promise<Response>

/** Options for {@link createFetchForwarder}. */
export interface FetchForwarderOptions {
  /** The fetch implementation. Default: the global `fetch`, looked up on every call. */
  fetch?: (url: string, init: ForwardInit) => Promise<Response>
}

// The content codings fetch implementations decode on their own. Asking the upstream only for
// these keeps Content-Encoding and the body consistent: the decoded body goes on without the
// Content-Encoding and Content-Length that described the encoded one.
const DECODED_CODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br'])
const ACCEPTED_CODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'identity'])

function limitAcceptEncoding(value: string): string {
  const kept: string[] = []
  for (const part of value.split(',')) {
    const coding = part.split(';', 1)[0]?.trim().toLowerCase()
    if (coding && ACCEPTED_CODINGS.has(coding)) kept.push(part.trim())
  }
  return kept.length > 0 ? kept.join(', ') : 'identity'
}

function decodedByFetch(response: Response, method: string): boolean {
  const encoding = response.headers.get('content-encoding')
  if (!encoding || method === 'HEAD' || method === 'CONNECT') return false
  const status = response.status
  if (status === 101 || status === 204 || status === 205 || status === 304) return false
  for (const coding of encoding.split(',')) {
    if (!DECODED_CODINGS.has(coding.trim().toLowerCase())) return false
  }
  return true
}

/**
 * The default forwarder: web `fetch` with `redirect: 'manual'` and a streamed body
 * (`duplex: 'half'`). Works on every runtime with fetch. What it cannot do:
 * - check the address it connects to (DNS is the runtime's), so only literal addresses and
 *   local-only names are refused; use the node forwarder from `@keyhole/core/node` on Node;
 * - pass compressed bodies through: fetch decodes gzip/deflate/br by itself, so `Accept-Encoding`
 *   is limited to those and a decoded response loses `Content-Encoding` and `Content-Length`;
 * - send the path byte for byte: fetch parses the URL (dot segments are resolved, a few
 *   characters are percent-encoded), and it adds its own default headers (`accept`,
 *   `user-agent`, ...) when the client sent none.
 *
 * @example
 * ```ts
 * const handle = createProxy({ opener, forward: createFetchForwarder({ fetch: myFetch }) })
 * ```
 */
export function createFetchForwarder(options: FetchForwarderOptions = {}): Forwarder {
  const custom = options.fetch
  return async (url, init) => {
    const accept = init.headers['accept-encoding']
    if (accept !== undefined) init.headers['accept-encoding'] = limitAcceptEncoding(accept)
    const response = await (custom ? custom(url, init) : fetch(url, init))
    // As the node forwarder does: a status outside 200-599 is not HTTP a client can rely on.
    if (response.status < 200 || response.status > 599) {
      await response.body?.cancel().catch(() => {})
      throw new KeyholeError('upstream_unreachable', `the upstream answered with status ${response.status}`)
    }
    const drop = decodedByFetch(response, init.method) ? ['content-encoding', 'content-length'] : undefined
    return toPassableResponse(response, drop)
  }
}
