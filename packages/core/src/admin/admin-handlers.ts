import { type Duration, toSeconds } from '../duration.js'
import { isKeyholeError, KeyholeError, type KeyholeErrorCode } from '../errors.js'
import { type MintGrant, type MintOptions, mintDetailed } from '../mint.js'
import { errorResponse } from '../proxy/error-response.js'
import {
  ISSUER_REVOCATION_SECONDS,
  isIssuerKid,
  issuerRevocationId,
} from '../revocation/issuer-revocation.js'
import type { RevocationStore } from '../revocation/store.js'
import { createAdminCheck, refuseAdmin } from './admin-token.js'
import { createFailureLimiter, type FailureLimiter, type FailureLimiterOptions } from './failure-limiter.js'
import { type PublicKeySource, publicEncryptionKeys } from './public-keys.js'
import { MAX_ADMIN_BODY_BYTES, readJsonBody } from './read-json.js'
import { withheldEchoes } from './withhold-echoes.js'

/** Options of {@link createAdminHandlers}. */
export interface AdminHandlersOptions {
  /**
   * The proxy's keys: `GET /.well-known/jwks.json` serves their public encryption keys (read on
   * every request, so a rotated keyring shows without new handlers) and `POST /mint` encrypts to
   * the newest. Without it both routes answer 404 `not_found`.
   */
  keyring?: PublicKeySource
  /** Where `POST /revoke` records revocations, and what `GET /readyz` asks. Give this or `opener`. */
  store?: RevocationStore
  /** An opener from `createOpener()`; its `revocations` store is used when `store` is absent. */
  opener?: { readonly revocations: RevocationStore }
  /**
   * The secret callers present as `Authorization: Bearer <adminToken>` on `POST /revoke` and
   * `POST /mint`: at least 32 bytes (`openssl rand -base64 32`), else creating the handlers throws
   * `bad_request`. Without it those two routes answer 404 `not_found`.
   */
  adminToken?: string
  /**
   * The longest token lifetime the proxy accepts (the opener's `maxTtl`). `POST /revoke` refuses
   * an `exp` further away than this (plus one minute for clocks that differ), and an issuer
   * revocation lasts this long. Default `'24h'`.
   */
  maxTtl?: Duration
  /** The longest `ttl` `POST /mint` will mint. Default `'1h'`. */
  mintMaxTtl?: Duration
  /**
   * The issuer key `POST /mint` signs with (`generateKey({ use: 'sig' })`), so the proxies that
   * trust this issuer honour the tokens. Without it minted tokens are unsigned.
   */
  signWith?: MintOptions['signWith']
  /**
   * `GET /readyz` answers 503 while this returns false (still starting, or draining on shutdown).
   * Default: always ready. The revocation store is asked as well.
   */
  ready?: () => boolean | Promise<boolean>
  /**
   * Failed admin attempts allowed per client address: after `failures` (default 10) within
   * `window` (default `'60s'`), 429 `rate_limited` with `Retry-After`. A request with the right
   * admin token is never throttled. Memory is bounded by `maxAddresses` (default 10 000).
   */
  rateLimit?: Omit<FailureLimiterOptions, 'now'>
  /**
   * The failure counter itself, to share one budget of wrong admin tokens with other routes
   * that check the same token (`keyhole serve`'s `/metrics`): guesses spread over them are
   * counted together. Default: one of these routes' own, from `rateLimit`.
   */
  limiter?: FailureLimiter
  /** Largest admin request body, in bytes. Default 64 KiB. */
  maxBodyBytes?: number
  /** The message of the 404 that `/revoke` and `/mint` answer when no admin token is configured. */
  adminOffMessage?: string
  /** Told about every revocation and mint that succeeded (ids and expiries only, never a token). */
  onAction?: (action: AdminAction) => void
  /** The clock, in milliseconds since the epoch. Default `Date.now`; tests inject their own. */
  now?: () => number
}

/** What {@link AdminHandlersOptions.onAction} is told. */
export type AdminAction =
  | { readonly type: 'revoke'; readonly jti: string; readonly exp: number; readonly issuer?: string }
  | { readonly type: 'mint'; readonly jti: string; readonly exp: number; readonly sub?: string }

/** What an adapter knows about a request that the `Request` itself does not carry. */
export interface AdminContext {
  /** The client's address, for rate-limiting failed admin attempts. Absent: one shared bucket. */
  readonly clientAddress?: string
  /**
   * The request path below the adapter's mount point, used by `handle` to pick the route.
   * Default: the path of `request.url`.
   */
  readonly path?: string
}

/** A web-standard handler for one management route. */
export type AdminHandler = (request: Request, context?: AdminContext) => Promise<Response>

/** The management routes, from {@link createAdminHandlers}. */
export interface AdminHandlers {
  /** `GET /.well-known/jwks.json`. */
  readonly jwks: AdminHandler
  /** `GET /healthz`. */
  readonly healthz: AdminHandler
  /** `GET /readyz`. */
  readonly readyz: AdminHandler
  /** `POST /revoke`. */
  readonly revoke: AdminHandler
  /** `POST /mint`. */
  readonly mint: AdminHandler
  /**
   * Routes a request to the handler for its path (`context.path`, else the URL's): the
   * response, or `undefined` when the path is none of {@link ADMIN_PATHS} (so an adapter can pass
   * the request on, e.g. to the proxy). A known path with the wrong method is 404 `not_found`
   * with an `Allow` header; `HEAD` is answered like `GET`, without a body.
   */
  handle(request: Request, context?: AdminContext): Promise<Response> | undefined
}

/** The paths {@link AdminHandlers.handle} answers, with the method each takes. */
export const ADMIN_PATHS: Readonly<Record<string, 'GET' | 'POST'>> = Object.freeze({
  '/.well-known/jwks.json': 'GET',
  '/healthz': 'GET',
  '/readyz': 'GET',
  '/revoke': 'POST',
  '/mint': 'POST',
})

// Codes whose messages the admin routes show: they describe the request (and are checked for
// echoes of it), never a secret. Everything else gets the code's fixed message.
const SHOWN = new Set<KeyholeErrorCode>(['bad_request', 'invalid_grant', 'unauthorized', 'not_found'])
// Clocks of the revoking tool and the proxy may differ a little.
const CLOCK_ALLOWANCE_SECONDS = 60
const NO_STORE = { 'cache-control': 'no-store' }

/**
 * Creates keyhole's management routes as web-standard handlers, once for every adapter:
 *
 * - `GET /.well-known/jwks.json`: the keyring's public encryption keys, `Cache-Control: public,
 *   max-age=300`.
 * - `GET /healthz`: `200 {"status":"ok"}` while the process serves requests.
 * - `GET /readyz`: `200 {"status":"ready"}`, or 503 `{"status":"not_ready"}` while `ready()` says
 *   no or the revocation store cannot answer.
 * - `POST /revoke` `{"jti","exp"}` (seconds; no later than `maxTtl` from now) records a
 *   revocation; `{"issuer": "<kid>"}` revokes everything that issuer key signed (the id
 *   `issuer:<kid>`, kept for `maxTtl`). Answers `{"revoked":true,"jti","exp"}`.
 * - `POST /mint` with a grant (`{hosts, paths?, methods?, inject, ttl, sub?, aud?, iss?, nbf?}`)
 *   mints a token for the keyring's newest key, signed with `signWith`: `{"token","jti","exp"}`.
 *   Messages name fields by position and never quote what the caller sent.
 *
 * The last two need `Authorization: Bearer <adminToken>` (compared in constant time); without it,
 * 401 `unauthorized`, and after too many failures from one address 429 `rate_limited` with
 * `Retry-After` — but never for a request that carries the right token, so a sandbox sharing the
 * operator's address cannot lock the operator out of `/revoke`.
 *
 * @throws KeyholeError `bad_request` for an admin token shorter than 32 bytes
 * @example
 * ```ts
 * const admin = createAdminHandlers({ keyring, opener, adminToken: process.env.KEYHOLE_ADMIN_TOKEN })
 * const proxy = createProxy({ opener })
 * export default {
 *   fetch: (request: Request) => admin.handle(request) ?? proxy(request),
 * }
 * ```
 */
export function createAdminHandlers(options: AdminHandlersOptions = {}): AdminHandlers {
  const now = options.now ?? Date.now
  const keyring = options.keyring
  const store = options.store ?? options.opener?.revocations
  const isAdmin = options.adminToken === undefined ? undefined : createAdminCheck(options.adminToken)
  const maxTtl = toSeconds(options.maxTtl ?? '24h')
  const mintMaxTtl = options.mintMaxTtl ?? '1h'
  const limit = options.maxBodyBytes ?? MAX_ADMIN_BODY_BYTES
  const limiter = options.limiter ?? createFailureLimiter({ ...options.rateLimit, now })
  const offMessage = options.adminOffMessage ?? 'admin routes are off: no admin token is configured'

  /**
   * Runs `run` with the JSON body of a caller holding the right admin token; everyone else gets
   * 401, or 429 after too many failures from their address.
   */
  const guarded =
    (fallback: KeyholeErrorCode, run: (body: Record<string, unknown>) => Promise<Response>): AdminHandler =>
    async (request, context) => {
      if (!isAdmin) return errorResponse('not_found', offMessage)
      // The token is checked before the limiter, so the right token always gets through.
      const authorization = request.headers.get('authorization')
      if (!(await isAdmin(authorization))) {
        // The body is left unread: the server discards it (cancelling could drop the connection).
        return refuseAdmin(limiter, context?.clientAddress ?? 'unknown', authorization)
      }
      let body: unknown
      try {
        body = await readJsonBody(request, limit)
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw new KeyholeError('bad_request', 'the body must be a JSON object')
        }
        return await run(body as Record<string, unknown>)
      } catch (error) {
        // DESIGN's error table is closed: a grant /mint refuses is the caller's bad request.
        const thrown = isKeyholeError(error) ? error.code : fallback
        const code = thrown === 'invalid_grant' ? 'bad_request' : thrown
        const message = SHOWN.has(thrown) && isKeyholeError(error) ? error.message : undefined
        // Whatever the message, it goes out only if it quotes nothing the caller sent.
        return errorResponse(code, message === undefined ? undefined : withheldEchoes(message, body))
      }
    }

  const jwks: AdminHandler = async () => {
    if (!keyring) return errorResponse('not_found', 'this proxy publishes no keys')
    return new Response(JSON.stringify(publicEncryptionKeys(keyring)), {
      headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
    })
  }

  const healthz: AdminHandler = async () => Response.json({ status: 'ok' }, { headers: NO_STORE })

  const readyz: AdminHandler = async () => {
    const ready = options.ready ? await Promise.resolve(options.ready()).catch(() => false) : true
    if (ready && (await storeAnswers(store))) return Response.json({ status: 'ready' }, { headers: NO_STORE })
    return Response.json({ status: 'not_ready' }, { status: 503, headers: NO_STORE })
  }

  const revoke = guarded('revocation_unavailable', async (body) => {
    if (!store) throw new KeyholeError('not_found', 'this proxy has no revocation store')
    const nowSeconds = Math.floor(now() / 1000)
    let jti: string
    let exp: number
    let issuer: string | undefined
    if (body.issuer !== undefined) {
      if (body.jti !== undefined || body.exp !== undefined)
        throw new KeyholeError('bad_request', 'give either {"jti", "exp"} or {"issuer"}, not both')
      if (!isIssuerKid(body.issuer))
        throw new KeyholeError(
          'bad_request',
          '"issuer" must be the kid of an issuer key (its RFC 7638 thumbprint, 43 base64url characters)',
        )
      issuer = body.issuer
      jti = issuerRevocationId(issuer)
      // The key could go on signing new grants: the revocation outlives any of them.
      exp = nowSeconds + ISSUER_REVOCATION_SECONDS
    } else {
      const { jti: id, exp: expiry } = body
      if (typeof id !== 'string' || typeof expiry !== 'number' || !Number.isFinite(expiry) || expiry <= 0) {
        throw new KeyholeError(
          'bad_request',
          'the body must be {"jti": string, "exp": seconds since the epoch} or {"issuer": kid}',
        )
      }
      if (expiry > nowSeconds + maxTtl + CLOCK_ALLOWANCE_SECONDS) {
        // A longer "revocation" would only fill the store: no token lives that long.
        throw new KeyholeError(
          'bad_request',
          `"exp" must be at most ${Math.ceil(maxTtl)} seconds from now (the longest token lifetime), give or take ${CLOCK_ALLOWANCE_SECONDS} s of clock difference`,
        )
      }
      jti = id
      exp = expiry
    }
    // The store validates the id itself (length, NUL, surrogates) with bad_request.
    await store.revoke(jti, new Date(exp * 1000))
    options.onAction?.({ type: 'revoke', jti, exp, ...(issuer !== undefined && { issuer }) })
    return Response.json({ revoked: true, jti, exp }, { headers: NO_STORE })
  })

  const mint = guarded('invalid_grant', async (grant) => {
    if (!keyring) throw new KeyholeError('not_found', 'this proxy has no keys to mint for')
    const { token, jti, exp } = await mintDetailed(grant as unknown as MintGrant, {
      to: keyring.publicJwks(),
      maxTtl: mintMaxTtl,
      ...(options.signWith !== undefined && { signWith: options.signWith }),
    })
    const sub = grant.sub
    options.onAction?.({ type: 'mint', jti, exp, ...(typeof sub === 'string' && { sub }) })
    return Response.json({ token, jti, exp }, { headers: NO_STORE })
  })

  const routes: Record<string, AdminHandler> = {
    '/.well-known/jwks.json': jwks,
    '/healthz': healthz,
    '/readyz': readyz,
    '/revoke': revoke,
    '/mint': mint,
  }

  return {
    jwks,
    healthz,
    readyz,
    revoke,
    mint,
    handle(request, context) {
      const path = context?.path ?? pathOf(request.url)
      const method = Object.hasOwn(ADMIN_PATHS, path) ? ADMIN_PATHS[path] : undefined
      if (method === undefined) return undefined
      const route = routes[path] as AdminHandler
      if (request.method === method) return route(request, context)
      if (request.method === 'HEAD' && method === 'GET') {
        return route(request, context).then(
          (response) =>
            new Response(null, {
              status: response.status,
              statusText: response.statusText,
              headers: response.headers,
            }),
        )
      }
      const allow = method === 'GET' ? 'GET, HEAD' : method
      return Promise.resolve(errorResponse('not_found', `${path} takes ${method}`, { allow }))
    },
  }
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname
  } catch {
    return ''
  }
}

/** Whether the store answers a lookup within 2 s (an id no token has, so nothing is cached). */
async function storeAnswers(store: RevocationStore | undefined): Promise<boolean> {
  if (!store) return true
  const probe = `keyhole-readyz-${crypto.randomUUID()}`
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      Promise.resolve(store.isRevoked(probe)).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), 2000)
      }),
    ])
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}
