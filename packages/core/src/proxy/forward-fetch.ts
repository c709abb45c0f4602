import { KeyholeError } from '../errors.js'
import type { ContentDecoders } from '../scrub/decode-for-scrubbing.js'
import type { PrivateAddressPermit } from './address-guard.js'
import type { AddressRanges } from './address-ranges.js'
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
   * Which private, loopback or link-local addresses this request may reach, as the engine's
   * address rule decided: `false` none (every address dialed must be public), `true` any (a signed
   * grant names the address literally, gateway mode, or `allowPrivateAddresses: true`), or an
   * {@link AddressRanges} (`allowPrivateAddresses: ['10.1.0.0/16']`): private addresses only
   * inside those ranges. A forwarder with `capabilities.checksDialedAddress` applies it to the
   * address it actually connects to (every DNS answer).
   */
  readonly privateAddresses: PrivateAddressPermit
  /**
   * Connect plus response-headers timeout in ms, set only for forwarders that apply it themselves
   * (`capabilities.appliesTimeout`); they then reject with `upstream_timeout`. Absent or 0: no
   * timeout (or, for other forwarders, the engine times the request by aborting `signal`).
   */
  readonly timeout?: number
}

/**
 * What a forwarder can do beyond the {@link Forwarder} contract, declared so the engine can skip
 * work or refuse a setup that would be unsafe. Every flag defaults to the conservative answer: a
 * plain function (`fetch` included) declares nothing and gets the full treatment.
 */
export interface ForwarderCapabilities {
  /**
   * The forwarder applies `init.keyhole.timeout` itself (rejecting with `upstream_timeout`) and
   * listens to `init.signal` directly. The engine then hands it the client's own signal, which
   * may be only AbortSignal-shaped (`aborted`, `reason`, `add/removeEventListener`; an
   * adapter's `closeSignal`), instead of an `AbortController` and a timer per request. Default
   * `false`: `init.signal` is a real `AbortSignal` that the engine aborts on timeout or when the
   * client goes away.
   */
  readonly appliesTimeout?: boolean
  /**
   * `init.body` may be a Node `Readable` (the incoming request itself) instead of a web stream,
   * so a Node adapter can skip a web stream over the request. Default `false`: always a web
   * `ReadableStream` or `null`.
   */
  readonly takesNodeStreams?: boolean
  /**
   * Responses never carry hop-by-hop or `X-Keyhole-*` headers, so the engine passes them on
   * without another look. A promise the forwarder makes: one that breaks it lets an upstream
   * forge `X-Keyhole-Error`. Default `false`: the engine strips them.
   */
  readonly cleanResponses?: boolean
  /**
   * The forwarder checks the address it connects to (every DNS answer) against
   * `init.keyhole.privateAddresses`, so a name resolving or rebinding to a private address is
   * refused with `host_not_allowed`. Without it, only IP literals and local-only names are caught,
   * and `createProxy` refuses the forwarder in open mode unless `allowHosts` bounds the targets or
   * the forwarder declares `reachesPrivateNetworks: false`. Default `false`.
   */
  readonly checksDialedAddress?: boolean
  /**
   * `false` declares that the runtime the forwarder sends from cannot reach private networks at
   * all (Cloudflare Workers' `fetch`), so the dialed address needs no check. Default `true`.
   */
  readonly reachesPrivateNetworks?: boolean
  /**
   * Decoders for response content encodings the runtime's `DecompressionStream` lacks (the node
   * forwarder supplies `br`), used by the response scrubber. Default: none.
   */
  readonly contentDecoders?: ContentDecoders
}

/**
 * What the engine hands a forwarder: a `RequestInit` that `fetch` accepts as it is, plus the
 * target as the engine authorized it (`keyhole`), so a forwarder that dials itself can send the
 * path byte for byte and apply the address policy to the address it actually connects to.
 */
export interface ForwardInit {
  method: string
  /** Headers to send, lower-case names (injected ones keep the grant's spelling); owned by the forwarder. */
  headers: Record<string, string>
  /**
   * The request body: streamed, or bytes when the engine had to read it (a `_method` field, body
   * and signing credentials); `null` for GET and HEAD. A Node `Readable` only with `takesNodeStreams`.
   */
  body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer> | null
  /**
   * Aborted when the client goes away or the connect/headers timeout fires. A real `AbortSignal`
   * unless the forwarder declares `appliesTimeout` (see {@link ForwarderCapabilities}).
   */
  signal?: AbortSignal
  redirect: 'manual'
  duplex: 'half'
  keyhole?: ForwardTarget
}

/**
 * Sends one request upstream and resolves with the response as soon as its headers arrive,
 * never following redirects, and rejects as soon as `init.signal` aborts (the engine's timeout
 * and the client going away arrive that way; aborting later must end the response body).
 * `fetch` itself fits this type. `capabilities`, when present, says what more it can do.
 *
 * @example
 * ```ts
 * const forward: Forwarder = (url, init) => fetch(url, init)
 * const workers: Forwarder = Object.assign((url: string, init: ForwardInit) => fetch(url, init), {
 *   capabilities: { reachesPrivateNetworks: false },
 * })
 * ```
 */
export interface Forwarder {
  (url: string, init: ForwardInit): Promise<Response>
  /** What this forwarder can do beyond the contract; absent: nothing. Read once, when the proxy is created. */
  readonly capabilities?: ForwarderCapabilities
}

/** Options for {@link createFetchForwarder}. */
export interface FetchForwarderOptions {
  /** The fetch implementation. Default: the global `fetch`, looked up on every call. */
  fetch?: (url: string, init: ForwardInit) => Promise<Response>
  /**
   * Whether this runtime's `fetch` can reach private, loopback or link-local addresses. `false`
   * declares it cannot (Cloudflare Workers), which lets `createProxy` use this forwarder in open
   * mode without `allowHosts` although it cannot check the addresses it dials. Default: `false`
   * on Cloudflare Workers (`navigator.userAgent === 'Cloudflare-Workers'`), `true` elsewhere.
   */
  reachesPrivateNetworks?: boolean
}

function onWorkers(): boolean {
  return (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent === 'Cloudflare-Workers'
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

/**
 * Whether `fetch` has already undone the response's `Content-Encoding` (gzip, deflate, br) while
 * leaving the header in place: then the body must not be decoded again, and the header and
 * `Content-Length` no longer describe it.
 */
export function decodedByFetch(response: Response, method: string): boolean {
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
 *   local-only names are refused: in open mode `createProxy` takes it only with `allowHosts`, or
 *   where the runtime cannot reach private networks (Workers); use the node forwarder from
 *   `@keyhole/core/node` on Node;
 * - pass compressed bodies through: fetch decodes gzip/deflate/br by itself, so `Accept-Encoding`
 *   is limited to those and a decoded response loses `Content-Encoding` and `Content-Length`;
 * - send the path byte for byte: fetch parses the URL (dot segments are resolved, a few
 *   characters are percent-encoded), and it adds its own default headers (`accept`,
 *   `user-agent`, ...) when the client sent none.
 *
 * @example
 * ```ts
 * const handle = createProxy({
 *   opener,
 *   allowHosts: ['api.github.com'],
 *   forward: createFetchForwarder({ fetch: myFetch }),
 * })
 * ```
 */
export function createFetchForwarder(options: FetchForwarderOptions = {}): Forwarder {
  const custom = options.fetch
  const forward = async (url: string, init: ForwardInit) => {
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
  const capabilities: ForwarderCapabilities = {
    // Every response goes through toPassableResponse above.
    cleanResponses: true,
    reachesPrivateNetworks: options.reachesPrivateNetworks ?? !onWorkers(),
  }
  return Object.assign(forward, { capabilities: Object.freeze(capabilities) })
}
