import { type Duration, toSeconds } from './duration.js'
import { KeyholeError } from './errors.js'
import type { PublicJwks } from './types.js'

/** Options of {@link fetchJwks}. */
export interface FetchJwksOptions {
  /** Gives up on the request (connect, headers and body) after this long. Default `'5s'`. */
  timeout?: Duration
  /** How long a fetched JWKS is reused before it is fetched again. Default `'5m'`; `0` never reuses. */
  cacheTtl?: Duration
  /**
   * Allows plain `http:` to hosts other than loopback. Off by default: whoever can change the
   * JWKS in transit chooses the key your credentials are encrypted to.
   */
  allowInsecureHttp?: boolean
  /** The `fetch` to use. Default: the global `fetch`. */
  fetch?: typeof fetch
}

// A JWKS of a few dozen keys is a few kilobytes; anything much larger is not a JWKS.
const MAX_JWKS_BYTES = 64 * 1024
const MAX_CACHED_URLS = 100

const cache = new Map<string, { jwks: PublicJwks; expiresAt: number }>()
const inflight = new Map<string, Promise<PublicJwks>>()

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

function unavailable(origin: string, why: string, cause?: unknown): KeyholeError {
  // Only the origin is named: a JWKS path or query may carry an access token.
  return new KeyholeError(
    'jwks_unavailable',
    `could not get the JWKS from ${origin}: ${why}`,
    cause ? { cause } : {},
  )
}

async function readCapped(response: Response, origin: string): Promise<string> {
  const declared = Number(response.headers.get('content-length'))
  if (declared > MAX_JWKS_BYTES) throw unavailable(origin, 'the response is too large for a JWKS')
  if (!response.body) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_JWKS_BYTES) {
      await reader.cancel().catch(() => {})
      throw unavailable(origin, 'the response is too large for a JWKS')
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return new TextDecoder().decode(bytes)
}

async function download(url: URL, options: FetchJwksOptions): Promise<PublicJwks> {
  const origin = url.origin
  const timeoutMs = toSeconds(options.timeout ?? '5s') * 1000
  const doFetch = options.fetch ?? fetch
  const signal = AbortSignal.timeout(timeoutMs)
  let text: string
  try {
    const response = await doFetch(url, {
      signal,
      headers: { accept: 'application/json' },
      redirect: 'error',
    })
    if (!response.ok) {
      await response.body?.cancel().catch(() => {})
      throw unavailable(origin, `HTTP ${response.status}`)
    }
    text = await readCapped(response, origin)
  } catch (err) {
    if (err instanceof KeyholeError) throw err
    if (signal.aborted) throw unavailable(origin, `no answer within ${timeoutMs} ms`)
    throw unavailable(origin, 'the request failed', err)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw unavailable(origin, 'the response is not JSON')
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys)) throw unavailable(origin, 'the response is not a JWKS (no "keys" array)')
  return Object.freeze({ keys: Object.freeze(keys.slice()) }) as PublicJwks
}

/**
 * Fetches a JWKS over HTTPS (plain HTTP only to loopback unless `allowInsecureHttp`), with a
 * timeout, and caches it per URL for `cacheTtl`. Concurrent calls for one URL share one request;
 * failures are not cached. Every failure is a `KeyholeError` with code `jwks_unavailable`.
 * `mint({ to: url })` uses it; call it directly to warm the cache or to inspect a proxy's keys.
 *
 * @example
 * ```ts
 * const jwks = await fetchJwks('https://proxy.internal/.well-known/jwks.json', { timeout: '2s' })
 * const token = await mint(grant, { to: jwks })
 * ```
 */
export async function fetchJwks(url: string | URL, options: FetchJwksOptions = {}): Promise<PublicJwks> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new KeyholeError('jwks_unavailable', 'the JWKS URL is not a valid absolute URL')
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new KeyholeError('jwks_unavailable', 'a JWKS URL must use https: (or http: to loopback)')
  }
  if (parsed.protocol === 'http:' && !options.allowInsecureHttp && !LOOPBACK.has(parsed.hostname)) {
    throw new KeyholeError(
      'jwks_unavailable',
      `refusing plain http: for the JWKS at ${parsed.origin}; use https: or set allowInsecureHttp`,
    )
  }
  const key = parsed.href
  const ttlMs = toSeconds(options.cacheTtl ?? '5m') * 1000
  // cacheTtl 0 never reuses, not even an entry an earlier caller with a longer TTL stored.
  const hit = ttlMs > 0 ? cache.get(key) : undefined
  if (hit && hit.expiresAt > Date.now()) return hit.jwks
  let pending = inflight.get(key)
  if (!pending) {
    pending = download(parsed, options)
    inflight.set(key, pending)
    pending.then(
      (jwks) => {
        inflight.delete(key)
        if (ttlMs <= 0) return
        cache.delete(key)
        if (cache.size >= MAX_CACHED_URLS) cache.delete(cache.keys().next().value as string)
        cache.set(key, { jwks, expiresAt: Date.now() + ttlMs })
      },
      () => inflight.delete(key),
    )
  }
  return pending
}

/**
 * Forgets every cached JWKS, so the next `fetchJwks`/`mint({ to: url })` fetches again
 * (after the proxy rotated its keys, for example).
 *
 * @example
 * ```ts
 * clearJwksCache()
 * ```
 */
export function clearJwksCache(): void {
  cache.clear()
}
