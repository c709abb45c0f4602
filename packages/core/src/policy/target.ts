import { KeyholeError } from '../errors.js'
import { normalizeHost } from './normalize-host.js'

/** A parsed, normalized request target. */
export interface Target {
  readonly scheme: 'http' | 'https'
  /** Lower case, no trailing dot, IDN as punycode, IPv4 dotted-decimal, IPv6 in brackets. */
  readonly host: string
  /** Always set; the scheme's default (443 or 80) when the URL has none. */
  readonly port: number
  /**
   * The path as sent (percent-encoding untouched; `/` when empty). Only characters that may not
   * appear raw in a request-target (non-ASCII, `"` `<` `>` `` ` `` `{` `}`) are percent-encoded.
   */
  readonly path: string
  /** The query as sent, with its leading `?`, or `''`. The fragment is never part of a target. */
  readonly search: string
  /** `scheme://host[:port]path?search`: the URL to forward to (port only when not the default). */
  readonly href: string
}

const MAX_URL_LENGTH = 65_536
// Controls, space and DEL: the WHATWG parser would silently strip or reject them; we refuse.
const CONTROL_OR_SPACE = /[\x00-\x20\x7f]/
const SCHEME_PREFIX = /^(https?):\/\//i
const ANY_SCHEME = /^[a-z][a-z0-9+.-]*:/i
const NEEDS_ENCODING = /[^\x21-\x7e]|["<>`{}]/
const NEEDS_ENCODING_ALL = /[^\x21-\x7e]|["<>`{}]/gu
const PORT = /^[0-9]{1,5}$/

function bad(message: string): KeyholeError {
  return new KeyholeError('bad_target', message)
}

function defaultPort(scheme: 'http' | 'https'): number {
  return scheme === 'https' ? 443 : 80
}

function encodeRaw(value: string): string {
  if (!NEEDS_ENCODING.test(value)) return value
  try {
    return value.replace(NEEDS_ENCODING_ALL, encodeURIComponent)
  } catch {
    // encodeURIComponent throws URIError on an unpaired surrogate.
    throw bad('the target URL contains an unpaired surrogate')
  }
}

function build(scheme: 'http' | 'https', host: string, port: number, path: string, search: string): Target {
  const authority = port === defaultPort(scheme) ? host : `${host}:${port}`
  return { scheme, host, port, path, search, href: `${scheme}://${authority}${path}${search}` }
}

function fromUrl(url: URL): Target {
  const protocol = url.protocol
  if (protocol !== 'https:' && protocol !== 'http:') throw bad('only http and https targets are supported')
  if (url.username !== '' || url.password !== '') throw bad('userinfo is not allowed in a target URL')
  const scheme = protocol === 'https:' ? 'https' : 'http'
  const host = normalizeHost(url.hostname)
  if (host === undefined) throw bad('the target host is not a valid host name or IP literal')
  const port = url.port === '' ? defaultPort(scheme) : Number(url.port)
  if (port === 0) throw bad('port 0 is not a valid target port')
  return build(scheme, host, port, url.pathname || '/', url.search)
}

/**
 * Parses and normalizes a target URL. Strings are read strictly and their path and query are
 * kept exactly as written (dot-segments and escapes included, so the policy sees what the
 * upstream will see); `URL` objects have already been normalized by the WHATWG parser and are
 * taken as they are.
 *
 * Refused with `bad_target`: anything that is not an absolute `http://` or `https://` URL (also
 * `https:host` and other forms browsers repair), userinfo (even an empty `@`), percent-escapes or
 * backslashes in the authority, an empty or invalid host, an empty, zero or out-of-range port,
 * control characters or spaces anywhere, and URLs over 64 KiB.
 *
 * @throws KeyholeError `bad_target`
 * @example
 * ```ts
 * parseTarget('https://API.GitHub.com./repos?page=2')
 * // { scheme: 'https', host: 'api.github.com', port: 443, path: '/repos', search: '?page=2', href: ... }
 * ```
 */
export function parseTarget(url: string | URL): Target {
  if (url instanceof URL) return fromUrl(url)
  if (typeof url !== 'string') throw bad('the target must be a URL string or a URL object')
  if (url.length > MAX_URL_LENGTH) throw bad('the target URL is too long')
  if (CONTROL_OR_SPACE.test(url)) throw bad('the target URL contains spaces or control characters')
  const match = SCHEME_PREFIX.exec(url)
  if (match === null) {
    throw bad(
      ANY_SCHEME.test(url)
        ? 'only http:// and https:// targets are supported'
        : 'the target is not an absolute URL',
    )
  }
  const scheme = match[1]!.toLowerCase() as 'http' | 'https'
  const authorityStart = match[0].length
  let authorityEnd = authorityStart
  while (authorityEnd < url.length) {
    const code = url.charCodeAt(authorityEnd)
    if (code === 47 || code === 63 || code === 35) break // '/', '?', '#'
    authorityEnd++
  }
  const authority = url.slice(authorityStart, authorityEnd)
  if (authority.includes('@')) throw bad('userinfo is not allowed in a target URL')
  if (authority.includes('\\')) throw bad('backslashes are not allowed in the target host')
  if (authority.includes('%')) throw bad('percent-escapes are not allowed in the target host')
  let hostPart = authority
  let portPart: string | undefined
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']')
    if (close === -1) throw bad('unterminated IPv6 literal in the target host')
    hostPart = authority.slice(0, close + 1)
    const after = authority.slice(close + 1)
    if (after !== '') {
      if (!after.startsWith(':')) throw bad('unexpected characters after the IPv6 literal')
      portPart = after.slice(1)
    }
  } else {
    const colon = authority.indexOf(':')
    if (colon !== -1) {
      hostPart = authority.slice(0, colon)
      portPart = authority.slice(colon + 1)
    }
  }
  if (hostPart === '') throw bad('the target URL has no host')
  let port = defaultPort(scheme)
  if (portPart !== undefined) {
    if (!PORT.test(portPart)) throw bad('the target port must be a decimal number')
    port = Number(portPart)
    if (port < 1 || port > 65535) throw bad('the target port must be between 1 and 65535')
  }
  const host = normalizeHost(hostPart)
  if (host === undefined) throw bad('the target host is not a valid host name or IP literal')

  let hash = url.indexOf('#', authorityEnd)
  if (hash === -1) hash = url.length
  let query = url.indexOf('?', authorityEnd)
  if (query === -1 || query > hash) query = hash
  const path = query === authorityEnd ? '/' : encodeRaw(url.slice(authorityEnd, query))
  const search = query === hash ? '' : encodeRaw(url.slice(query, hash))
  return build(scheme, host, port, path, search)
}
