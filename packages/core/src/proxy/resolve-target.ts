import { KeyholeError } from '../errors.js'

/** Where a request is going, as keyhole read it from the request path; nothing is normalized yet. */
export interface RawTarget {
  /** The absolute URL the policy is checked against: `scheme://host[:port]` + path + query, as sent. */
  readonly url: string
  /** `http` or `https`, lower case. */
  readonly scheme: 'http' | 'https'
  /** The path exactly as sent (percent-encoding untouched), always starting with `/`. */
  readonly path: string
  /** The query exactly as sent, including its leading `?`, or `''`. */
  readonly search: string
}

/** Turns the raw path+query below the mount point into a {@link RawTarget}. */
export type TargetResolver = (rawPath: string) => RawTarget

// A host segment: a DNS-ish name or a bracketed IPv6 literal, with an optional port. No '%'
// (percent-encoded hosts are refused, not decoded), no '@' (userinfo), no '\', nothing else.
const HOST_SEGMENT = /^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/
// What may appear in a request target as keyhole forwards it: visible ASCII only. A raw HTTP
// request line cannot carry anything else, so anything else means the path was decoded on the way.
const INVALID_TARGET_CHAR = /[^\x21-\x7e]/

function badTarget(message: string): KeyholeError {
  return new KeyholeError('bad_target', message)
}

function splitQuery(rawPath: string): [path: string, search: string] {
  let end = rawPath.indexOf('#')
  // A fragment is never part of a request target; drop it the way fetch would.
  const withoutFragment = end === -1 ? rawPath : rawPath.slice(0, end)
  end = withoutFragment.indexOf('?')
  if (end === -1) return [withoutFragment, '']
  return [withoutFragment.slice(0, end), withoutFragment.slice(end)]
}

function checkPath(path: string, search: string): void {
  if (path.charCodeAt(0) !== 47 /* / */) throw badTarget('the target path must start with "/"')
  if (INVALID_TARGET_CHAR.test(path) || INVALID_TARGET_CHAR.test(search)) {
    throw badTarget('the target path or query holds characters a request line cannot carry')
  }
  // WHATWG URL parsers read '\' as '/', servers do not: refuse rather than guess which one the
  // upstream will see.
  if (path.includes('\\')) throw badTarget('the target path holds a backslash')
}

/**
 * Reads an open-mode target, `/{scheme}/{host[:port]}/{path...}?{query}`, from the raw path
 * and query below the mount point. The path and query are kept byte for byte; the host segment
 * must be a plain host name or bracketed IPv6 literal with an optional port.
 *
 * @example
 * ```ts
 * resolveOpenTarget('/https/api.github.com/repos/acme/app?per_page=5')
 * // { url: 'https://api.github.com/repos/acme/app?per_page=5', scheme: 'https',
 * //   path: '/repos/acme/app', search: '?per_page=5' }
 * ```
 */
export function resolveOpenTarget(rawPath: string): RawTarget {
  const [fullPath, search] = splitQuery(rawPath)
  if (fullPath.charCodeAt(0) !== 47) throw badTarget('the target path must start with "/"')
  const schemeEnd = fullPath.indexOf('/', 1)
  if (schemeEnd === -1) throw badTarget('expected /{scheme}/{host}/{path}')
  let scheme = fullPath.slice(1, schemeEnd)
  if (scheme !== 'https' && scheme !== 'http') {
    scheme = scheme.toLowerCase()
    if (scheme !== 'https' && scheme !== 'http') throw badTarget('the target scheme must be http or https')
  }
  const hostEnd = fullPath.indexOf('/', schemeEnd + 1)
  const host = hostEnd === -1 ? fullPath.slice(schemeEnd + 1) : fullPath.slice(schemeEnd + 1, hostEnd)
  if (!HOST_SEGMENT.test(host)) {
    throw badTarget('the target host must be a host name or [IPv6] literal with an optional port')
  }
  const path = hostEnd === -1 ? '/' : fullPath.slice(hostEnd)
  checkPath(path, search)
  return { url: `${scheme}://${host}${path}${search}`, scheme: scheme as 'http' | 'https', path, search }
}

/**
 * Compiles a gateway-mode resolver: the request path below the mount point is appended to the
 * fixed `upstream` (whose own path, if any, becomes a prefix). Throws `bad_target` at once for an
 * upstream that is not a plain `http(s)://host[:port][/path]` URL.
 *
 * @example
 * ```ts
 * const resolve = compileGatewayTarget('https://api.openai.com/v1')
 * resolve('/chat/completions?x=1').url // 'https://api.openai.com/v1/chat/completions?x=1'
 * ```
 */
export function compileGatewayTarget(upstream: string | URL): TargetResolver {
  const text = String(upstream)
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    throw badTarget('upstream must be an absolute http(s) URL')
  }
  const scheme = parsed.protocol.slice(0, -1)
  if (scheme !== 'http' && scheme !== 'https') throw badTarget('upstream must use http or https')
  if (parsed.username || parsed.password) throw badTarget('upstream must not carry userinfo')
  if (parsed.search || parsed.hash || text.includes('?') || text.includes('#')) {
    throw badTarget('upstream must not carry a query or fragment')
  }
  // The prefix keeps the upstream's path as written (minus a trailing slash) after the
  // normalized origin; the request path is appended untouched.
  const schemeEnd = text.indexOf('://') + 3
  const pathStart = text.indexOf('/', schemeEnd)
  let basePath = pathStart === -1 ? '' : text.slice(pathStart)
  if (basePath.endsWith('/')) basePath = basePath.slice(0, -1)
  if (INVALID_TARGET_CHAR.test(basePath) || basePath.includes('\\')) {
    throw badTarget('upstream path holds characters a request line cannot carry')
  }
  const origin = `${scheme}://${parsed.host}`
  const typedScheme = scheme as 'http' | 'https'
  return (rawPath) => {
    const [requestPath, search] = splitQuery(rawPath)
    if (requestPath !== '' && requestPath.charCodeAt(0) !== 47)
      throw badTarget('the path must start with "/"')
    const path = requestPath === '' ? basePath || '/' : basePath + requestPath
    checkPath(path, search)
    return { url: origin + path + search, scheme: typedScheme, path, search }
  }
}

/**
 * The raw path and query of a request URL, without parsing it again (`new URL` would be the
 * slow way to read what is already there).
 *
 * @example
 * ```ts
 * pathFromUrl('http://proxy.local:8787/https/api.github.com/user?x=1') // '/https/api.github.com/user?x=1'
 * ```
 */
export function pathFromUrl(url: string): string {
  const authority = url.indexOf('//')
  const start = url.indexOf('/', authority === -1 ? 0 : authority + 2)
  return start === -1 ? '/' : url.slice(start)
}
