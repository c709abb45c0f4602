import { isKeyholeError, KeyholeError } from '../errors.js'
import { hasControlChar } from '../policy/header-rules.js'
import type { OAuth2Injection } from '../types.js'
import { toBase64, toHex, utf8 } from './bytes.js'
import { invalidEntry, optionalChoice, optionalText, requireText } from './entry-fields.js'
import type { InjectContext, Injector } from './injector.js'
import { readLimited } from './read-limited.js'

/** Options of {@link createOAuth2Injector}. */
export interface OAuth2InjectorOptions {
  /** Most access tokens kept at once; the oldest goes first. Default 1000. */
  readonly maxEntries?: number
  /** Give up on the token endpoint after this many milliseconds. Default 10 000. */
  readonly timeoutMs?: number
  /** Seconds a token is taken to live when the endpoint sends no `expires_in`. Default 300. */
  readonly defaultLifetime?: number
}

/** The `oauth2` injector, with the one extra the engine calls on an upstream 401. */
export interface OAuth2Injector extends Injector<OAuth2Injection> {
  /**
   * Drops the cached access token of this credential (for this issuer), so the next request
   * fetches a new one. The engine calls it when the upstream answers 401 — and passes the 401
   * through: no retry, so a revoked client cannot make the proxy hammer the token endpoint.
   */
  invalidate(entry: OAuth2Injection, issuerKid?: string): Promise<void>
}

interface CachedToken {
  readonly token: string
  readonly refreshAt: number
  readonly expiresAt: number
  /** A refresh token the endpoint rotated to; used for the next refresh instead of the grant's. */
  readonly refreshToken?: string
}

interface Retired {
  readonly token: string
  /** Until when it is searched for: its expiry plus {@link RETIRED_GRACE_MS}. */
  readonly until: number
}

// Servers accept a token a little past its expiry (clock skew); keep masking it that long too.
const RETIRED_GRACE_MS = 60_000
// Refreshes come at most every half lifetime, so a few replaced tokens cover any overlap.
const MAX_RETIRED = 4

/** Most bytes of a token endpoint's answer that are read (README, "Credentials"). */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024
// b64token (RFC 6750 §2.1) plus what real servers put in opaque tokens; never a space or a comma.
const ACCESS_TOKEN = /^[\x21-\x2b\x2d-\x7e]+$/

function unreachable(reason: string, cause?: unknown): KeyholeError {
  // Nothing the endpoint said goes into the message: an error page may quote the client secret.
  return new KeyholeError('upstream_unreachable', 'the OAuth token endpoint did not issue an access token', {
    reason,
    ...(cause !== undefined && { cause }),
  })
}

function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1)
}

function canonicalEntry(entry: OAuth2Injection): string {
  const fields = [
    'tokenUrl',
    'clientId',
    'clientSecret',
    'scope',
    'audience',
    'refreshToken',
    'auth',
  ] as const
  return JSON.stringify(fields.map((field) => entry[field] ?? null))
}

/**
 * Makes an `oauth2` injector with its own token cache. `{ type: 'oauth2', tokenUrl, clientId,
 * clientSecret, scope?, audience?, refreshToken?, auth? }` obtains an access token with the
 * client-credentials grant, or the refresh-token grant when `refreshToken` is given, and sends
 * `Authorization: Bearer <token>`.
 *
 * - Cache: one token per credential, keyed by a SHA-256 of the whole entry and the issuer's
 *   `kid`, so no grant ever receives a token cached for another issuer's entry. A token is
 *   refreshed 60 s before it expires, or at half its lifetime when that is shorter. However many
 *   requests wait, one token request is in flight per credential. A refresh token the endpoint
 *   rotates is used for the next refresh (until the entry leaves the cache).
 * - Side request: the token URL must pass `context.checkUrl` (issuer scope, `allowHosts`) and is
 *   dialed with `context.fetch` (the engine's address guard), `POST`, `redirect: 'manual'`; the
 *   client authenticates with HTTP Basic (RFC 6749 §2.3.1, form-encoded id and secret) unless
 *   `auth` is `client_secret_post`. `scope` and `audience` are sent when given.
 * - Failures — unreachable, 3xx, any non-2xx, more than 64 KiB, no usable `access_token`, a
 *   `token_type` other than Bearer — are `KeyholeError('upstream_unreachable')` with a fixed
 *   message (the `reason` says which, for events) and nothing the endpoint said.
 *
 * @example
 * ```ts
 * const oauth2 = createOAuth2Injector({ maxEntries: 100 })
 * const injectors = createInjectorRegistry([oauth2])
 * // on an upstream 401 for a grant using entry:
 * await oauth2.invalidate(entry, grant.issuerKid)
 * ```
 */
export function createOAuth2Injector(options: OAuth2InjectorOptions = {}): OAuth2Injector {
  const maxEntries = options.maxEntries ?? 1000
  const timeoutMs = options.timeoutMs ?? 10_000
  const defaultLifetime = options.defaultLifetime ?? 300
  const cache = new Map<string, CachedToken>()
  const inflight = new Map<string, Promise<CachedToken>>()
  // Cache keys per entry object and issuer: entries are frozen and live as long as their cached
  // grant, so each is hashed once.
  const keysOf = new WeakMap<OAuth2Injection, Map<string, string>>()

  async function cacheKey(entry: OAuth2Injection, issuerKid: string | undefined): Promise<string> {
    const kid = issuerKid ?? ''
    let keys = keysOf.get(entry)
    const known = keys?.get(kid)
    if (known !== undefined) return known
    const digest = await crypto.subtle.digest(
      'SHA-256',
      utf8(`${JSON.stringify(kid)}\n${canonicalEntry(entry)}`),
    )
    const key = toHex(new Uint8Array(digest))
    if (!keys) {
      keys = new Map()
      keysOf.set(entry, keys)
    }
    keys.set(kid, key)
    return key
  }

  function remember(key: string, token: CachedToken): void {
    cache.delete(key)
    cache.set(key, token)
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value as string)
  }

  // Access tokens a refresh (or invalidate) replaced, kept for scrubbing until they expire: a
  // token refreshed 60 s early still works upstream, and an echo of an earlier request could
  // hand it to the sandbox.
  const retired = new Map<string, readonly Retired[]>()

  function retire(key: string, old: CachedToken | undefined, now: number): void {
    if (old === undefined || old.token === '') return
    const kept = (retired.get(key) ?? []).filter((t) => t.until > now && t.token !== old.token)
    kept.push({ token: old.token, until: old.expiresAt + RETIRED_GRACE_MS })
    retired.delete(key)
    retired.set(key, kept.slice(-MAX_RETIRED))
    while (retired.size > maxEntries) retired.delete(retired.keys().next().value as string)
  }

  function stillValid(key: string, now: number): string[] {
    const list = retired.get(key)
    if (list === undefined) return []
    const valid = list.filter((t) => t.until > now)
    if (valid.length === 0) retired.delete(key)
    return valid.map((t) => t.token)
  }

  async function requestToken(
    entry: OAuth2Injection,
    context: InjectContext,
    refreshToken: string | undefined,
  ): Promise<CachedToken> {
    context.checkUrl(entry.tokenUrl)
    const form = new URLSearchParams()
    if (refreshToken !== undefined) {
      form.set('grant_type', 'refresh_token')
      form.set('refresh_token', refreshToken)
    } else {
      form.set('grant_type', 'client_credentials')
    }
    if (entry.scope !== undefined) form.set('scope', entry.scope)
    if (entry.audience !== undefined) form.set('audience', entry.audience)
    const headers = new Headers({
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    })
    if (entry.auth === 'client_secret_post') {
      form.set('client_id', entry.clientId)
      form.set('client_secret', entry.clientSecret)
    } else {
      const pair = `${formEncode(entry.clientId)}:${formEncode(entry.clientSecret)}`
      headers.set('authorization', `Basic ${toBase64(utf8(pair))}`)
    }
    const started = context.now()
    let response: Response
    try {
      response = await context.fetch(entry.tokenUrl, {
        method: 'POST',
        headers,
        body: form.toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (error) {
      // The engine's guard refusing the dialed address is a policy answer, not an outage.
      if (isKeyholeError(error, 'host_not_allowed')) throw error
      throw unreachable('token_endpoint_unreachable', error)
    }
    if (response.status < 200 || response.status > 299 || response.type === 'opaqueredirect') {
      await response.body?.cancel().catch(() => {})
      throw unreachable(
        response.status >= 300 && response.status < 400 ? 'token_endpoint_redirect' : 'token_endpoint_status',
      )
    }
    let bytes: Uint8Array | undefined
    try {
      bytes = await readLimited(response, MAX_TOKEN_RESPONSE_BYTES)
    } catch {
      throw unreachable('token_endpoint_unreachable')
    }
    if (bytes === undefined) throw unreachable('token_endpoint_too_large')
    let answer: Record<string, unknown>
    try {
      answer = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
    } catch {
      throw unreachable('token_endpoint_answer')
    }
    const {
      access_token: token,
      token_type: tokenType,
      expires_in: expiresIn,
      refresh_token: rotated,
    } = answer ?? {}
    if (typeof token !== 'string' || !ACCESS_TOKEN.test(token)) throw unreachable('token_endpoint_answer')
    if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer'))
      throw unreachable('token_endpoint_token_type')
    let lifetime = typeof expiresIn === 'string' && /^\d+$/.test(expiresIn) ? Number(expiresIn) : expiresIn
    if (lifetime === undefined) lifetime = defaultLifetime
    if (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime <= 0)
      throw unreachable('token_endpoint_answer')
    // 60 s early, or at half the lifetime for a short-lived token: never use a token so close to
    // its expiry that it lapses on the way to the upstream.
    const refreshAfter = Math.max(lifetime - 60, lifetime / 2)
    return {
      token,
      refreshAt: started + refreshAfter * 1000,
      expiresAt: started + lifetime * 1000,
      ...(typeof rotated === 'string' && ACCESS_TOKEN.test(rotated)
        ? { refreshToken: rotated }
        : refreshToken !== undefined && { refreshToken }),
    }
  }

  async function accessToken(entry: OAuth2Injection, context: InjectContext, key: string): Promise<string> {
    const cached = cache.get(key)
    if (cached && context.now() < cached.refreshAt) return cached.token
    let flight = inflight.get(key)
    if (!flight) {
      const refreshToken = cached?.refreshToken ?? entry.refreshToken
      const started = requestToken(entry, context, refreshToken)
      flight = started
      inflight.set(key, started)
      const settle = () => {
        // Only the flight still registered may fill the cache: an invalidate() in between wins.
        if (inflight.get(key) === started) inflight.delete(key)
      }
      started.then((token) => {
        if (inflight.get(key) === started) {
          retire(key, cache.get(key), context.now())
          remember(key, token)
        }
        settle()
      }, settle)
    }
    return (await flight).token
  }

  return Object.freeze({
    type: 'oauth2',
    fields: Object.freeze([
      'tokenUrl',
      'clientId',
      'clientSecret',
      'scope',
      'audience',
      'refreshToken',
      'auth',
    ]),
    endpoints(entry: OAuth2Injection): readonly string[] {
      return [entry.tokenUrl]
    },
    validate(entry: Readonly<Record<string, unknown>>, where: string): void {
      const tokenUrl = requireText(entry, 'tokenUrl', where)
      const clientId = requireText(entry, 'clientId', where)
      const clientSecret = requireText(entry, 'clientSecret', where)
      const scope = optionalText(entry, 'scope', where)
      const audience = optionalText(entry, 'audience', where)
      const refreshToken = optionalText(entry, 'refreshToken', where)
      optionalChoice(entry, 'auth', where, ['client_secret_basic', 'client_secret_post'])
      const url = URL.canParse(tokenUrl)
        ? new URL(tokenUrl)
        : invalidEntry(`${where}.tokenUrl must be an absolute URL`)
      if (url.protocol !== 'https:' && url.protocol !== 'http:')
        invalidEntry(`${where}.tokenUrl must be an https:// (or explicitly http://) URL`)
      if (url.username !== '' || url.password !== '')
        invalidEntry(`${where}.tokenUrl must not hold user info`)
      if (url.hash !== '' || tokenUrl.includes('#'))
        invalidEntry(`${where}.tokenUrl must not have a fragment`)
      for (const [field, value] of [
        ['clientId', clientId],
        ['clientSecret', clientSecret],
        ['scope', scope],
        ['audience', audience],
        ['refreshToken', refreshToken],
      ] as const) {
        if (value !== undefined && hasControlChar(value))
          invalidEntry(`${where}.${field} contains control characters`)
      }
      try {
        encodeURIComponent(clientId + clientSecret + (scope ?? '') + (audience ?? '') + (refreshToken ?? ''))
      } catch {
        invalidEntry(`${where} contains an unpaired surrogate`)
      }
    },
    writesHeaders: () => ['authorization'],
    needsBody: () => false,
    async apply(request, entry: OAuth2Injection, context) {
      const key = await cacheKey(entry, context.issuerKid)
      const token = await accessToken(entry, context, key)
      request.headers.set('authorization', `Bearer ${token}`)
      return { secrets: [token, ...stillValid(key, context.now())] }
    },
    secrets(entry: OAuth2Injection) {
      const out: string[] = [entry.clientSecret]
      if (entry.refreshToken !== undefined) out.push(entry.refreshToken)
      for (const key of keysOf.get(entry)?.values() ?? []) {
        const cached = cache.get(key)
        if (cached) {
          out.push(cached.token)
          if (cached.refreshToken !== undefined && cached.refreshToken !== entry.refreshToken)
            out.push(cached.refreshToken)
        }
      }
      return out
    },
    async invalidate(entry: OAuth2Injection, issuerKid?: string): Promise<void> {
      const key = await cacheKey(entry, issuerKid)
      const cached = cache.get(key)
      retire(key, cached, Date.now())
      cache.delete(key)
      inflight.delete(key)
      // Keep a rotated refresh token: the one in the grant may already be spent.
      if (cached?.refreshToken !== undefined && cached.refreshToken !== entry.refreshToken)
        remember(key, { token: '', refreshAt: 0, expiresAt: 0, refreshToken: cached.refreshToken })
    },
  } satisfies OAuth2Injector)
}

/**
 * The built-in `oauth2` injector (one process-wide token cache). See {@link createOAuth2Injector}.
 *
 * @example
 * ```ts
 * await oauth2Injector.apply(request, { type: 'oauth2', tokenUrl: 'https://auth.example.com/token',
 *   clientId: 'app', clientSecret: 's3cr3t', scope: 'read' }, context)
 * request.headers.get('authorization') // 'Bearer eyJ...'
 * ```
 */
export const oauth2Injector: OAuth2Injector = createOAuth2Injector()
