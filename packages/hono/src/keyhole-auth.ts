import {
  authorize,
  compileGatewayTarget,
  errorResponse,
  type Grant,
  injectCredentials,
  isKeyholeError,
  KeyholeError,
  type KeyholeErrorCode,
  type ProxyOpener,
  publicMessage,
  readToken,
  sanitizeHeaders,
} from '@keyhole/core'
import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { rawUrl } from './keyhole.js'
import { pathBelowMount } from './mount-path.js'

/** Options of {@link keyholeAuth}. */
export interface KeyholeAuthOptions {
  /** Opens tokens and enforces expiry and revocation (`createOpener({ keyring, revocations })`). Required. */
  opener: ProxyOpener
  /**
   * The upstream this gateway forwards to, `http(s)://host[:port][/base]`. The target the token
   * is checked against is this plus the request path below the mount point. Required.
   */
  upstream: string | URL
  /** More headers that may carry the token (e.g. `['x-api-key']`), as in the engine. Default: none. */
  tokenHeaders?: readonly string[]
}

/** What {@link keyholeAuth} puts on the context as `c.var.keyhole`. */
export interface KeyholeContext {
  /** The opened, authorized grant (frozen). Its `inject` values are secrets: never log them. */
  readonly grant: Grant
  /** The authorized target: `upstream` + the path and query below the mount point, as received. */
  readonly target: string
  /**
   * Prepares outgoing headers: removes everything the engine would strip (the token headers,
   * `Authorization`, `Proxy-Authorization`, hop-by-hop headers and those named in `Connection`,
   * `Host`, `Forwarded`, `X-Forwarded-*`, headers the grant injects, `Cookie` when it injects a
   * cookie), then sets the grant's credentials. Pass `url` (the URL you will send to) when the
   * grant injects a query parameter; it is checked against the grant first, so credentials never
   * go anywhere the grant does not allow. Throws `KeyholeError`.
   */
  inject(headers: Headers, url?: URL): void
}

/** The Hono environment {@link keyholeAuth} adds: `c.var.keyhole`. */
export interface KeyholeEnv {
  Variables: { keyhole: KeyholeContext }
}

/**
 * Middleware for gateways that forward requests themselves: reads the token (`X-Keyhole-Token`,
 * `Authorization: Bearer`, then `tokenHeaders`), opens it (expiry and revocation are enforced
 * by the opener) and authorizes `upstream` + the path below the mount point, then sets
 * `c.var.keyhole = { grant, target, inject }`. A refused request gets the engine's JSON error
 * response (`X-Keyhole-Error`) and never reaches the next handler.
 *
 * @example
 * ```ts
 * import { keyholeAuth } from '@keyhole/hono'
 *
 * app.use('/github/*', keyholeAuth({ opener, upstream: 'https://api.github.com' }))
 * app.get('/github/*', async (c) => {
 *   const url = new URL(c.var.keyhole.target)
 *   const headers = new Headers(c.req.raw.headers)
 *   c.var.keyhole.inject(headers, url)
 *   return fetch(url, { headers, redirect: 'manual' })
 * })
 * ```
 */
export function keyholeAuth(options: KeyholeAuthOptions): MiddlewareHandler<KeyholeEnv> {
  if (!options || typeof options.opener?.open !== 'function') {
    throw new KeyholeError('bad_request', 'keyholeAuth needs an opener (createOpener({ keyring }))')
  }
  if (options.upstream === undefined) throw new KeyholeError('bad_request', 'keyholeAuth needs { upstream }')
  const { opener } = options
  const tokenHeaders = (options.tokenHeaders ?? []).map((name) => name.toLowerCase())
  const resolve = compileGatewayTarget(options.upstream)

  return createMiddleware<KeyholeEnv>(async (c, next) => {
    let token: string | undefined
    let grant: Grant | undefined
    let target: string
    let phase: KeyholeErrorCode = 'invalid_token'
    try {
      token = readToken(c.req.raw.headers, tokenHeaders)
      phase = 'bad_target'
      target = resolve(pathBelowMount(rawUrl(c), c.req.routePath)).url
      phase = 'invalid_token'
      grant = await opener.open(token)
      phase = 'bad_target'
      authorize(grant, { method: c.req.method, url: target })
    } catch (error) {
      const code = isKeyholeError(error) ? error.code : phase
      const secrets = [...(token ? [token] : []), ...(grant?.inject.map((i) => i.value) ?? [])]
      return errorResponse(code, publicMessage(code, error, secrets))
    }
    c.set('keyhole', authContext(grant, target, c.req.method, tokenHeaders))
    await next()
  })
}

function authContext(grant: Grant, target: string, method: string, tokenHeaders: readonly string[]) {
  const injectsQuery = grant.inject.some((rule) => rule.in === 'query')
  return Object.freeze({
    grant,
    target,
    inject(headers: Headers, url?: URL) {
      if (url === undefined) {
        if (injectsQuery) {
          throw new KeyholeError(
            'bad_request',
            'this grant injects a query parameter: pass the URL you forward to, inject(headers, url)',
          )
        }
      } else {
        authorize(grant, { method, url })
      }
      const kept = sanitizeHeaders(headers, { grant, tokenHeaders })
      for (const name of [...headers.keys()]) if (!kept.has(name)) headers.delete(name)
      injectCredentials(grant, url ?? new URL(target), headers)
    },
  })
}
