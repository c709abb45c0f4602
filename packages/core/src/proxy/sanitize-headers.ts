import {
  CLIENT_ADDRESS_HEADERS,
  FORBIDDEN_INJECT_HEADER_PREFIXES,
  HOP_BY_HOP_HEADERS,
  RANGE_HEADERS,
  REROUTING_HEADERS,
} from '../policy/header-rules.js'
import type { Grant } from '../types.js'
import { compileInjection } from './inject-credentials.js'
import { joinHeaderValues, rawHeaderList, trimHeaderValue } from './raw-headers.js'
import { TOKEN_HEADER } from './read-token.js'

/** The request headers keyhole never forwards, compiled once per proxy. */
export interface StripRules {
  /** Lower-case names removed from every request. */
  readonly names: ReadonlySet<string>
  /** Lower-case prefixes removed from every request (`x-forwarded-`, `x-keyhole-`). */
  readonly prefixes: readonly string[]
}

/** What the grant injects, as far as stripping inbound headers is concerned. */
export interface InjectedNames {
  /** Lower-case names of injected headers. */
  readonly headerNames: ReadonlySet<string>
  /** True when a cookie is injected (the inbound Cookie header is then dropped). */
  readonly cookie: boolean
}

/** Options of {@link compileStripRules}. */
export interface StripOptions {
  /**
   * Also drop `Range` and `If-Range`: set while response bodies are scrubbed, since a secret
   * fetched in slices never appears whole in one body. Default `false`.
   */
  readonly dropRange?: boolean
}

/**
 * Compiles the fixed part of the strip list: the token headers (`X-Keyhole-Token` and the
 * operator's `tokenHeaders`), `Authorization`, `Proxy-Authorization`, `Keyhole-Proof`, hop-by-hop
 * headers, `Host`, `Forwarded`, `Via`, `Expect`, every `X-Forwarded-*` and `X-Keyhole-*` header,
 * the headers that re-route or re-interpret a request upstream (`X-HTTP-Method-Override`,
 * `X-HTTP-Method`, `X-Method-Override`, `X-Original-URL`, `X-Rewrite-URL`), the client-address
 * headers (`X-Real-IP`, `True-Client-IP`, `X-Client-IP`, `CF-Connecting-IP`,
 * `Fastly-Client-IP`), and, with `dropRange`, `Range` and `If-Range`.
 *
 * @example
 * ```ts
 * const rules = compileStripRules(['x-api-key'], { dropRange: true })
 * rules.names.has('x-api-key') // true
 * rules.names.has('range') // true
 * ```
 */
export function compileStripRules(
  tokenHeaders: readonly string[] = [],
  options: StripOptions = {},
): StripRules {
  const names = new Set<string>(HOP_BY_HOP_HEADERS)
  // keyhole-proof: a proof of possession is for the proxy; it is never forwarded.
  for (const name of [
    TOKEN_HEADER,
    'authorization',
    'proxy-authorization',
    'keyhole-proof',
    'host',
    'forwarded',
    'via',
  ]) {
    names.add(name)
  }
  // The inbound server already answered Expect: 100-continue; forwarding it would make the
  // upstream wait for a continue that no one sends (and fetch refuses the header outright).
  names.add('expect')
  for (const name of REROUTING_HEADERS) names.add(name)
  for (const name of CLIENT_ADDRESS_HEADERS) names.add(name)
  if (options.dropRange === true) for (const name of RANGE_HEADERS) names.add(name)
  for (const name of tokenHeaders) names.add(name.toLowerCase())
  return { names, prefixes: FORBIDDEN_INJECT_HEADER_PREFIXES }
}

/**
 * The lower-case header names listed in a `Connection` header; those headers are hop-by-hop
 * for this message and never forwarded.
 *
 * @example
 * ```ts
 * connectionTokens('keep-alive, X-Secret') // ['keep-alive', 'x-secret']
 * ```
 */
export function connectionTokens(value: string | null): string[] | undefined {
  if (!value) return undefined
  const tokens: string[] = []
  for (const part of value.split(',')) {
    const token = part.trim().toLowerCase()
    if (token) tokens.push(token)
  }
  return tokens
}

function stripped(
  name: string,
  rules: StripRules,
  connection: string[] | undefined,
  injected: InjectedNames | undefined,
): boolean {
  if (rules.names.has(name)) return true
  for (const prefix of rules.prefixes) if (name.startsWith(prefix)) return true
  if (connection?.includes(name)) return true
  if (injected) {
    if (injected.headerNames.has(name)) return true
    if (injected.cookie && name === 'cookie') return true
  }
  return false
}

/**
 * Copies the forwardable request headers into a fresh plain object (lower-case names, values
 * as `Headers` combines them) in one pass. The engine's hot path; `dropContentLength` is set
 * when no body is forwarded.
 */
export function copyRequestHeaders(
  source: Headers,
  rules: StripRules,
  injected: InjectedNames | undefined,
  dropContentLength: boolean,
): Record<string, string> {
  const out: Record<string, string> = Object.create(null)
  const connection = connectionTokens(source.get('connection'))
  const raw = rawHeaderList(source)
  if (raw !== undefined) {
    // A Node request's own list, in one pass: the same names and values the Headers iteration
    // gives (repeats joined with ', ', Cookie with '; '), without sorting or an intermediate map.
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase()
      if (name.charCodeAt(0) === 58 /* : pseudo-header */) continue
      if (stripped(name, rules, connection, injected)) continue
      if (dropContentLength && name === 'content-length') continue
      const value = trimHeaderValue(raw[i + 1] as string)
      const existing = out[name]
      // Set-Cookie: the last one wins, as with the Headers iteration below.
      out[name] =
        existing === undefined || name === 'set-cookie' ? value : joinHeaderValues(name, existing, value)
    }
    return out
  }
  for (const [name, value] of source) {
    if (stripped(name, rules, connection, injected)) continue
    if (dropContentLength && name === 'content-length') continue
    out[name] = value
  }
  return out
}

/**
 * Returns a copy of `headers` without anything that carries or leaks authority or only
 * concerns this hop: everything {@link compileStripRules} lists (the token headers,
 * `Authorization`, method-override, URL-rewrite and client-address headers, ...; `Range` and
 * `If-Range` with `dropRange`), every header named in `Connection`, and, given the grant, every
 * header the grant injects and `Cookie` when it injects a cookie. For gateways that forward
 * requests themselves (`keyholeAuth`); follow it with {@link injectCredentials}.
 *
 * @example
 * ```ts
 * const headers = sanitizeHeaders(request.headers, { grant, tokenHeaders: ['x-api-key'] })
 * injectCredentials(grant, url, headers)
 * ```
 */
export function sanitizeHeaders(
  headers: Headers,
  options: { grant?: Grant; tokenHeaders?: readonly string[]; dropRange?: boolean } = {},
): Headers {
  const rules = compileStripRules(options.tokenHeaders, { dropRange: options.dropRange === true })
  const injected = options.grant ? compileInjection(options.grant) : undefined
  const connection = connectionTokens(headers.get('connection'))
  const out = new Headers()
  for (const [name, value] of headers) {
    if (!stripped(name, rules, connection, injected)) out.append(name, value)
  }
  return out
}

const hopByHop = new Set(HOP_BY_HOP_HEADERS)

/**
 * True when a response header must not be passed on: hop-by-hop, named in the response's own
 * `Connection` header, or one of keyhole's own `X-Keyhole-*` headers (only the proxy may say
 * `X-Keyhole-Error`; an upstream sending it could pass its errors off as the proxy's).
 */
export function isHopByHopResponseHeader(name: string, connection: readonly string[] | undefined): boolean {
  return hopByHop.has(name) || connection?.includes(name) === true || name.startsWith('x-keyhole-')
}

/**
 * A copy of response headers without hop-by-hop headers and those named in `Connection`, or
 * `undefined` when there is nothing to remove (the caller can then keep the response as it is).
 * `Set-Cookie` headers stay separate.
 *
 * @example
 * ```ts
 * const headers = passableResponseHeaders(upstream.headers)
 * ```
 */
export function passableResponseHeaders(headers: Headers, also?: readonly string[]): Headers | undefined {
  const connection = connectionTokens(headers.get('connection'))
  let dirty = false
  for (const name of headers.keys()) {
    if (isHopByHopResponseHeader(name, connection) || also?.includes(name)) {
      dirty = true
      break
    }
  }
  if (!dirty) return undefined
  const out = new Headers()
  for (const [name, value] of headers) {
    if (!isHopByHopResponseHeader(name, connection) && !also?.includes(name)) out.append(name, value)
  }
  return out
}

// Responses whose headers are already fit to pass on (built by keyhole's forwarders), so the
// engine does not copy them a second time.
const passable = new WeakSet<Response>()

/** Marks a response as already stripped of hop-by-hop headers. */
export function markPassable(response: Response): Response {
  passable.add(response)
  return response
}

/** Null-body statuses: a Response for these must not carry a body. */
export function isNullBodyStatus(status: number): boolean {
  return status === 101 || status === 103 || status === 204 || status === 205 || status === 304
}

/**
 * The upstream response as it may go back to the client: the same object when it is already
 * clean, otherwise a new Response over the same (unread) body with hop-by-hop headers and
 * `dropHeaders` removed.
 *
 * @example
 * ```ts
 * return toPassableResponse(await fetch(url, init))
 * ```
 */
export function toPassableResponse(response: Response, dropHeaders?: readonly string[]): Response {
  if (passable.has(response)) return response
  const headers = passableResponseHeaders(response.headers, dropHeaders)
  if (!headers) return markPassable(response)
  const body = isNullBodyStatus(response.status) ? null : response.body
  const init: ResponseInit = { status: response.status, headers }
  if (response.statusText) init.statusText = response.statusText
  return markPassable(new Response(body, init))
}
