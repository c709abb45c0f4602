import { KeyholeClientError } from './errors.js'
import { exactSearch, proxyBase } from './proxied-url.js'

/** Where a gateway-mode call goes, and the target URL its proof names. */
export interface GatewayCall {
  /** The URL to send to: under the gateway's mount. */
  readonly sendTo: string
  /** The upstream URL the gateway forwards to (its `htu`, and what the token is picked by). */
  readonly target: URL
}

/** Maps a caller's URL to a gateway call, or `undefined` when it is under neither base. */
export type GatewayRoute = (url: URL) => GatewayCall | undefined

/** The part of `path` below `base` (`''` for the base itself), or `undefined` when not under it. */
function below(path: string, base: string): string | undefined {
  if (base === '') return path
  if (path === base || path === `${base}/`) return path === base ? '' : '/'
  return path.startsWith(`${base}/`) ? path.slice(base.length) : undefined
}

/**
 * Compiles gateway mode: `proxy` is where the gateway mounts keyhole for one upstream (its
 * `upstream` option), e.g. `https://gw.example.com/github` for `https://api.github.com`. A call
 * to a URL under `upstream` is sent to the same path under `proxy`; a call to a URL under `proxy`
 * is sent as it is. Either way the target is `upstream` plus the path below the mount, which is
 * what the gateway forwards to and what a proof's `htu` must name.
 *
 * @throws KeyholeClientError `invalid_options` for an upstream that is not a plain absolute
 *   http(s) URL without query or fragment
 * @example
 * ```ts
 * const route = compileGateway('https://gw.example.com/github', 'https://api.github.com')
 * route(new URL('https://api.github.com/user'))
 * // { sendTo: 'https://gw.example.com/github/user', target: URL('https://api.github.com/user') }
 * ```
 */
export function compileGateway(proxy: string | URL, upstream: string | URL): GatewayRoute {
  const mount = new URL(proxyBase(proxy))
  let up: URL
  try {
    up = new URL(proxyBase(upstream))
  } catch {
    throw new KeyholeClientError(
      'invalid_options',
      'upstream must be an absolute http(s) URL without userinfo, query or fragment',
    )
  }
  const mountPath = mount.pathname === '/' ? '' : mount.pathname
  const upstreamPath = up.pathname === '/' ? '' : up.pathname
  const targetOf = (rest: string) => new URL(`${up.origin}${upstreamPath + rest || '/'}`)

  return (url) => {
    const search = exactSearch(url)
    if (url.origin === up.origin) {
      const rest = below(url.pathname, upstreamPath)
      if (rest !== undefined)
        return { sendTo: `${mount.origin}${mountPath}${rest}${search}`, target: targetOf(rest) }
    }
    if (url.origin === mount.origin) {
      const rest = below(url.pathname, mountPath)
      if (rest !== undefined)
        return { sendTo: `${mount.origin}${mountPath}${rest}${search}`, target: targetOf(rest) }
    }
    return undefined
  }
}
