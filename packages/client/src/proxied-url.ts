import { KeyholeClientError } from './errors.js'

/**
 * Normalizes a proxy base URL: absolute http(s), no userinfo, query or fragment; returned without
 * a trailing slash so paths can be appended.
 */
export function proxyBase(proxy: string | URL): string {
  let url: URL
  try {
    url = new URL(String(proxy))
  } catch (cause) {
    throw new KeyholeClientError('invalid_options', 'the proxy must be an absolute http(s) URL', { cause })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KeyholeClientError('invalid_options', 'the proxy must be an absolute http(s) URL')
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new KeyholeClientError(
      'invalid_options',
      'the proxy URL must not carry userinfo, a query or a fragment',
    )
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/** `{proxy}/{scheme}/{host[:port]}` for a target URL (default ports omitted, IPv6 in brackets). */
export function proxiedPrefix(base: string, url: URL): string {
  return `${base}/${url.protocol.slice(0, -1)}/${url.host}`
}

/** The URL's query exactly as written, including a lone `?` that URL.search reports as ''. */
export function exactSearch(url: URL): string {
  if (url.search !== '') return url.search
  const href = url.href
  const hash = href.indexOf('#')
  return (hash === -1 ? href : href.slice(0, hash)).endsWith('?') ? '?' : ''
}

/** Parses a caller's URL for proxying; refuses userinfo and anything but absolute http(s). */
export function parseCallUrl(input: string): URL {
  let url: URL
  try {
    url = new URL(input)
  } catch (cause) {
    throw new KeyholeClientError('bad_url', 'the URL is not absolute', { cause })
  }
  if (url.username !== '' || url.password !== '') {
    throw new KeyholeClientError('bad_url', 'URLs with userinfo are never sent through keyhole')
  }
  return url
}

/**
 * The proxied form of a base URL, for SDKs that take a base URL instead of a `fetch` function:
 * `https://api.openai.com/v1` → `{proxy}/https/api.openai.com/v1`. The path is kept as given; a
 * bare origin yields no trailing slash so the SDK can append `/v1/...`.
 *
 * @throws KeyholeClientError `bad_url` or `invalid_options`
 * @example
 * ```ts
 * const client = new OpenAI({
 *   baseURL: proxiedBaseUrl('https://api.openai.com/v1', process.env.KEYHOLE_PROXY!),
 *   apiKey: token, // the proxy reads the keyhole token from Authorization: Bearer
 * })
 * ```
 */
export function proxiedBaseUrl(url: string | URL, proxy: string | URL): string {
  const base = proxyBase(proxy)
  const target = parseCallUrl(String(url))
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new KeyholeClientError('bad_url', 'only http and https URLs can be proxied')
  }
  const search = exactSearch(target)
  const path = target.pathname === '/' && search === '' ? '' : target.pathname
  return `${proxiedPrefix(base, target)}${path}${search}`
}
