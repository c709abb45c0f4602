import { KeyholeError } from '../../errors.js'
import { parseTarget, type Target } from '../../policy/target.js'

/** A target the forward proxy hands the engine, with the open-mode path that names it. */
export interface ForwardTarget {
  readonly target: Target
  /** `/{scheme}/{host[:port]}{path}{query}`: the open-mode path the engine reads the target from. */
  readonly enginePath: string
}

/** True when a request line carries an absolute URL (a proxy request) rather than a path. */
export function isAbsoluteForm(url: string | undefined): url is string {
  if (url === undefined || url.length < 8) return false
  const prefix = url.slice(0, 8).toLowerCase()
  return prefix.startsWith('http://') || prefix === 'https://'
}

const WEBSOCKET_SCHEME = /^(wss?):\/\//i

/**
 * True when an upgrade's request line carries an absolute URL: `http://`, `https://`, or the
 * WebSocket schemes `ws://` and `wss://` some proxy clients send for a `ws://` URL.
 */
export function isAbsoluteFormUpgrade(url: string | undefined): url is string {
  return isAbsoluteForm(url) || (url !== undefined && WEBSOCKET_SCHEME.test(url))
}

/**
 * {@link absoluteFormTarget} for an upgrade's request line: `ws://` is read as `http://` and
 * `wss://` as `https://` (same default ports), which is how the engine names WebSocket targets.
 *
 * @throws KeyholeError `bad_target`
 * @example
 * ```ts
 * absoluteFormUpgradeTarget('ws://stream.example.com/v1').enginePath // '/http/stream.example.com/v1'
 * ```
 */
export function absoluteFormUpgradeTarget(url: string): ForwardTarget {
  const websocket = WEBSOCKET_SCHEME.exec(url)
  if (websocket === null) return absoluteFormTarget(url)
  const scheme = (websocket[1] as string).toLowerCase() === 'wss' ? 'https' : 'http'
  return absoluteFormTarget(`${scheme}${url.slice((websocket[1] as string).length)}`)
}

function authorityOf(target: Target): string {
  // href is scheme://authority path query, with the port only when it is not the default.
  return target.href.slice(
    target.scheme.length + 3,
    target.href.length - target.path.length - target.search.length,
  )
}

/**
 * Reads an absolute-form request target (`GET http://host:8080/p?q HTTP/1.1`) into the engine's
 * open-mode path (`/http/host:8080/p?q`), keeping the path's percent-encoding and the query
 * exactly as sent. The target comes from the request line only, never from `Host`.
 *
 * @throws KeyholeError `bad_target`
 * @example
 * ```ts
 * absoluteFormTarget('http://api.example.com/v1/x%2Fy?a=1').enginePath // '/http/api.example.com/v1/x%2Fy?a=1'
 * ```
 */
export function absoluteFormTarget(url: string): ForwardTarget {
  const target = parseTarget(url)
  return { target, enginePath: `/${target.scheme}/${authorityOf(target)}${target.path}${target.search}` }
}

/**
 * Reads a CONNECT request's authority (`host:port`; the port is required, as RFC 9110 says) as an
 * HTTPS origin: what every request inside the tunnel is sent to.
 *
 * @throws KeyholeError `bad_target`
 * @example
 * ```ts
 * connectTarget('API.example.com:443') // { scheme: 'https', host: 'api.example.com', port: 443, ... }
 * ```
 */
export function connectTarget(authority: string | undefined): Target {
  if (authority === undefined || !/:[0-9]{1,5}$/.test(authority) || /[/?#@]/.test(authority)) {
    throw new KeyholeError('bad_target', 'CONNECT needs host:port')
  }
  return parseTarget(`https://${authority}/`)
}

/**
 * The engine path for a request inside a tunnel: always the CONNECT origin plus the request
 * target, so an open-mode-looking path (`/https/other.host/x`) is just a path on that origin.
 * An absolute-form request target inside the tunnel must name the same origin.
 *
 * @throws KeyholeError `misdirected_request` (another origin), `bad_target`
 * @example
 * ```ts
 * tunnelPath(connectTarget('api.example.com:443'), '/https/evil.test/x') // '/https/api.example.com/https/evil.test/x'
 * ```
 */
export function tunnelPath(origin: Target, requestTarget: string | undefined): string {
  let path = requestTarget ?? ''
  if (isAbsoluteForm(path)) {
    const inner = parseTarget(path)
    if (!sameOrigin(inner, origin)) {
      throw new KeyholeError('misdirected_request', 'this tunnel only carries requests for its CONNECT host')
    }
    path = `${inner.path}${inner.search}`
  }
  if (path.charCodeAt(0) !== 47 /* / */)
    throw new KeyholeError('bad_target', 'the request target must be a path')
  return `/https/${authorityOf(origin)}${path}`
}

/**
 * True when a `Host` header value names the tunnel's origin (normalized: case, trailing dot,
 * default port).
 */
export function hostMatches(origin: Target, host: string | undefined): boolean {
  if (host === undefined || host === '' || /[/?#@\\\s]/.test(host)) return false
  try {
    return sameOrigin(parseTarget(`https://${host}/`), origin)
  } catch {
    return false
  }
}

function sameOrigin(a: Target, b: Target): boolean {
  return a.scheme === b.scheme && a.host === b.host && a.port === b.port
}

/** How many `Host` headers a request carried (Node's `headers.host` keeps only the first). */
export function hostCount(raw: readonly string[]): number {
  let count = 0
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === 'host') count++
  return count
}
