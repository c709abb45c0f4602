import { isKeyholeError, KeyholeError, type KeyholeErrorCode } from '../errors.js'
import { authorize } from '../policy/authorize.js'
import type { Grant } from '../types.js'
import type { ProxyOpener } from './create-proxy.js'
import { errorResponse, publicMessage } from './error-response.js'
import { injectCredentials } from './inject-credentials.js'
import { readToken } from './read-token.js'
import { compileGatewayTarget } from './resolve-target.js'
import { sanitizeHeaders } from './sanitize-headers.js'

/** Options of {@link createRequestAuthorizer}. */
export interface RequestAuthorizerOptions {
  /** Opens tokens and enforces expiry and revocation (`createOpener({ keyring, revocations })`). Required. */
  opener: ProxyOpener
  /**
   * The upstream the gateway forwards to, `http(s)://host[:port][/base]`. The target the token is
   * checked against is this plus the request path below the mount point. Required.
   */
  upstream: string | URL
  /** More headers that may carry the token (e.g. `['x-api-key']`), as in the engine. Default: none. */
  tokenHeaders?: readonly string[]
}

/** An authorized request, for gateways that forward requests themselves. */
export interface AuthorizedRequest {
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

/** What a gateway knows about an incoming request. */
export interface IncomingRequestParts {
  readonly headers: Headers
  readonly method: string
  /** The raw path and query below the mount point, as received. */
  readonly path: string
}

/**
 * The checks of `keyholeAuth` in the Hono and Express adapters, written once: reads the token
 * (`X-Keyhole-Token`, `Authorization: Bearer`, then `tokenHeaders`), opens it (expiry and
 * revocation are the opener's) and authorizes `upstream` + `path`. Resolves to an
 * {@link AuthorizedRequest}, or to the engine's JSON error `Response` (`X-Keyhole-Error`) when
 * the request is refused — never to an error that could carry the token.
 *
 * @example
 * ```ts
 * const check = createRequestAuthorizer({ opener, upstream: 'https://api.github.com' })
 * const result = await check({ headers: request.headers, method: request.method, path: '/user' })
 * if (result instanceof Response) return result
 * const headers = new Headers({ accept: 'application/json' })
 * result.inject(headers)
 * return fetch(result.target, { headers, redirect: 'manual' })
 * ```
 */
export function createRequestAuthorizer(
  options: RequestAuthorizerOptions,
): (request: IncomingRequestParts) => Promise<AuthorizedRequest | Response> {
  if (!options || typeof options.opener?.open !== 'function') {
    throw new KeyholeError('bad_request', 'keyholeAuth needs an opener (createOpener({ keyring }))')
  }
  if (options.upstream === undefined) throw new KeyholeError('bad_request', 'keyholeAuth needs { upstream }')
  const { opener } = options
  const tokenHeaders = (options.tokenHeaders ?? []).map((name) => name.toLowerCase())
  const resolve = compileGatewayTarget(options.upstream)

  return async function authorizeRequest({ headers, method, path }) {
    let token: string | undefined
    let grant: Grant | undefined
    let phase: KeyholeErrorCode = 'invalid_token'
    try {
      token = readToken(headers, tokenHeaders)
      phase = 'bad_target'
      const target = resolve(path).url
      phase = 'invalid_token'
      grant = await opener.open(token)
      phase = 'bad_target'
      authorize(grant, { method, url: target })
      return authorizedRequest(grant, target, method, tokenHeaders)
    } catch (error) {
      const code = isKeyholeError(error) ? error.code : phase
      const secrets = [...(token ? [token] : []), ...(grant?.inject.map((i) => i.value) ?? [])]
      return errorResponse(code, publicMessage(code, error, secrets))
    }
  }
}

function authorizedRequest(
  grant: Grant,
  target: string,
  method: string,
  tokenHeaders: readonly string[],
): AuthorizedRequest {
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
