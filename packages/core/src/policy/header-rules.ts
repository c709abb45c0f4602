/**
 * Header and value rules shared by grant validation (mint and open) and the proxy engine.
 * This file is the single source of truth for which header names keyhole treats as
 * hop-by-hop or refuses to inject.
 */

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1 plus the historic and HTTP/2 ones). A proxy never
 * forwards these in either direction, and never injects them. Lower case.
 *
 * @example
 * ```ts
 * for (const name of HOP_BY_HOP_HEADERS) headers.delete(name)
 * ```
 */
export const HOP_BY_HOP_HEADERS: readonly string[] = Object.freeze([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
])

/**
 * Header names a grant may never inject (lower case), in addition to every name starting with
 * one of {@link FORBIDDEN_INJECT_HEADER_PREFIXES}:
 * - the hop-by-hop headers ({@link HOP_BY_HOP_HEADERS}), including `Proxy-Authorization`
 *   (it authenticates to a proxy, so it has no meaning for the upstream and would only leak);
 * - framing and routing: `Host`, `Content-Length`, `Expect`;
 * - `Cookie`: cookies are injected with `{ in: 'cookie' }` entries so they can be merged safely;
 * - `Forwarded` and `Via`: the engine strips them inbound, and a credential has no business
 *   claiming where a request came from.
 *
 * @example
 * ```ts
 * FORBIDDEN_INJECT_HEADER_NAMES.includes('host') // true
 * ```
 */
export const FORBIDDEN_INJECT_HEADER_NAMES: readonly string[] = Object.freeze([
  ...HOP_BY_HOP_HEADERS,
  'host',
  'content-length',
  'expect',
  'cookie',
  'forwarded',
  'via',
])

/**
 * Prefixes of header names a grant may never inject (lower case): `X-Forwarded-*` (stripped
 * inbound, spoofable client-address claims) and `X-Keyhole-*` (keyhole's own wire headers; an
 * injected `X-Keyhole-Token` would hand a token to the upstream).
 *
 * @example
 * ```ts
 * FORBIDDEN_INJECT_HEADER_PREFIXES.some((p) => 'x-forwarded-for'.startsWith(p)) // true
 * ```
 */
export const FORBIDDEN_INJECT_HEADER_PREFIXES: readonly string[] = Object.freeze([
  'x-forwarded-',
  'x-keyhole-',
])

/**
 * Inbound headers that make an upstream (or a framework or gateway in front of it) re-route or
 * re-interpret a request: method overrides, which would let a `methods: ['POST']` grant delete,
 * and URL rewrites, which would reach a path the policy never saw. Never forwarded. Lower case.
 *
 * @example
 * ```ts
 * REROUTING_HEADERS.includes('x-http-method-override') // true
 * ```
 */
export const REROUTING_HEADERS: readonly string[] = Object.freeze([
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-url',
  'x-rewrite-url',
])

/**
 * Inbound headers that claim a client address. The sandbox is the client; letting it name its
 * own address would defeat upstream allow-lists and rate limits keyed on it. Never forwarded
 * (like `Forwarded` and `X-Forwarded-*`). Lower case.
 *
 * @example
 * ```ts
 * CLIENT_ADDRESS_HEADERS.includes('x-real-ip') // true
 * ```
 */
export const CLIENT_ADDRESS_HEADERS: readonly string[] = Object.freeze([
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
])

/**
 * Request headers that fetch a slice of a response. Dropped while body scrubbing is on: a secret
 * fetched a few bytes at a time never appears whole in any one response. Lower case.
 *
 * @example
 * ```ts
 * RANGE_HEADERS // ['range', 'if-range']
 * ```
 */
export const RANGE_HEADERS: readonly string[] = Object.freeze(['range', 'if-range'])

const forbiddenNames = new Set(FORBIDDEN_INJECT_HEADER_NAMES)
const hopByHop = new Set(HOP_BY_HOP_HEADERS)

/**
 * True when a grant may not inject a header with this name (case-insensitive).
 *
 * @example
 * ```ts
 * isForbiddenInjectHeader('Transfer-Encoding') // true
 * isForbiddenInjectHeader('Authorization') // false
 * ```
 */
export function isForbiddenInjectHeader(name: string): boolean {
  const lower = name.toLowerCase()
  if (forbiddenNames.has(lower)) return true
  for (const prefix of FORBIDDEN_INJECT_HEADER_PREFIXES) if (lower.startsWith(prefix)) return true
  return false
}

/**
 * True for a hop-by-hop header name (case-insensitive).
 *
 * @example
 * ```ts
 * isHopByHopHeader('Keep-Alive') // true
 * ```
 */
export function isHopByHopHeader(name: string): boolean {
  return hopByHop.has(name.toLowerCase())
}

// RFC 9110 §5.6.2 token: 1*tchar.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// RFC 9110 §5.5 field-value without leading/trailing whitespace (Headers would trim it, so the
// value sent would differ from the value minted). obs-text (0x80-0xFF) is allowed; anything
// above 0xFF cannot be sent in a header at all.
const FIELD_VALUE = /^[\x21-\x7e\x80-\xff](?:[\x20\x21-\x7e\x80-\xff\t]*[\x21-\x7e\x80-\xff])?$/
// RFC 6265 §4.1.1 cookie-value: cookie-octets, optionally wrapped in double quotes.
const COOKIE_VALUE =
  /^(?:[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*|"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")$/
// CR, LF and NUL are refused in every string of a grant.
const CR_LF_NUL = /[\r\n\0]/
const CONTROL = /[\x00-\x1f\x7f]/

/**
 * True for an RFC 9110 token (header names, method names, cookie names).
 *
 * @example
 * ```ts
 * isToken('X-Api-Key') // true
 * isToken('Bad Name') // false
 * ```
 */
export function isToken(value: string): boolean {
  return TOKEN.test(value)
}

/**
 * True for a header value keyhole will inject: visible ASCII or obs-text, with spaces and tabs
 * only between visible characters; never empty.
 *
 * @example
 * ```ts
 * isHeaderValue('Bearer abc') // true
 * isHeaderValue('abc\r\nX-Evil: 1') // false
 * ```
 */
export function isHeaderValue(value: string): boolean {
  return FIELD_VALUE.test(value)
}

/**
 * True for an RFC 6265 cookie value (cookie-octets, optionally double-quoted).
 *
 * @example
 * ```ts
 * isCookieValue('abc123') // true
 * isCookieValue('a;b') // false
 * ```
 */
export function isCookieValue(value: string): boolean {
  return COOKIE_VALUE.test(value)
}

/**
 * True when the string holds CR, LF or NUL (refused in every string of a grant).
 *
 * @example
 * ```ts
 * hasCrLfNul('a\nb') // true
 * ```
 */
export function hasCrLfNul(value: string): boolean {
  return CR_LF_NUL.test(value)
}

/**
 * True when the string holds a C0 control character or DEL.
 *
 * @example
 * ```ts
 * hasControlChar('a\tb') // true
 * ```
 */
export function hasControlChar(value: string): boolean {
  return CONTROL.test(value)
}
