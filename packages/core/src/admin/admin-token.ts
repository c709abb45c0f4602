import { KeyholeError } from '../errors.js'
import { errorResponse } from '../proxy/error-response.js'
import type { FailureLimiter } from './failure-limiter.js'

/** The shortest admin token accepted, in bytes of UTF-8. */
export const MIN_ADMIN_TOKEN_BYTES = 32

const encoder = new TextEncoder()
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i

/**
 * Throws `bad_request` unless `adminToken` is a string of at least {@link MIN_ADMIN_TOKEN_BYTES}
 * bytes, with a message saying how to make one. A shorter secret could be guessed through the
 * admin routes, which are reachable by whoever reaches the proxy (the sandbox included).
 *
 * @example
 * ```ts
 * assertAdminToken(process.env.KEYHOLE_ADMIN_TOKEN) // throws when unset or too short
 * ```
 */
export function assertAdminToken(adminToken: unknown): asserts adminToken is string {
  const bytes = typeof adminToken === 'string' ? encoder.encode(adminToken).length : 0
  if (bytes < MIN_ADMIN_TOKEN_BYTES) {
    // The message states the length rule only; it never repeats the token, however short.
    throw new KeyholeError(
      'bad_request',
      `the admin token must be at least ${MIN_ADMIN_TOKEN_BYTES} bytes; make one with \`openssl rand -base64 32\``,
    )
  }
}

/**
 * Returns a check for `Authorization: Bearer <admin token>` that takes the same time whatever is
 * presented: both sides are HMAC-SHA-256'd under a random per-process key (so neither their
 * lengths nor a common prefix shows in the timing) and the equal-length digests are compared
 * with a fixed-length XOR loop. WebCrypto only, so it runs on every runtime core supports.
 * Throws `bad_request` for a token shorter than {@link MIN_ADMIN_TOKEN_BYTES} bytes.
 *
 * @example
 * ```ts
 * const isAdmin = createAdminCheck(process.env.KEYHOLE_ADMIN_TOKEN!)
 * if (!(await isAdmin(request.headers.get('authorization')))) return errorResponse('unauthorized')
 * ```
 */
export function createAdminCheck(
  adminToken: string,
): (authorization: string | null | undefined) => Promise<boolean> {
  assertAdminToken(adminToken)
  let state: Promise<{ key: CryptoKey; expected: Uint8Array }> | undefined
  const init = async () => {
    const key = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    const expected = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(adminToken)))
    return { key, expected }
  }
  return async (authorization) => {
    state ??= init()
    const { key, expected } = await state
    const presented = typeof authorization === 'string' ? BEARER.exec(authorization)?.[1] : undefined
    const digest = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(presented ?? '')))
    let diff = presented === undefined ? 1 : 0
    for (let i = 0; i < expected.length; i++) diff |= (expected[i] as number) ^ (digest[i] as number)
    return diff === 0
  }
}

/**
 * What a request without the right admin token gets from an admin route or `/metrics`, with the
 * failure counted against its address: 429 `rate_limited` with `Retry-After` while the address
 * is locked out, else 401 `unauthorized`. The 401's challenge follows RFC 6750 §3.1: `Bearer`
 * alone when the request carried no `Authorization` (no error code for a request that did not
 * try), `Bearer error="invalid_token"` when it carried a wrong one. Check the token first, so the
 * right token is never throttled.
 *
 * @example
 * ```ts
 * const authorization = request.headers.get('authorization')
 * if (!(await isAdmin(authorization))) return refuseAdmin(limiter, clientAddress, authorization)
 * ```
 */
export function refuseAdmin(
  limiter: FailureLimiter,
  clientAddress: string,
  authorization: string | null | undefined,
): Response {
  const wait = limiter.retryAfter(clientAddress)
  if (wait > 0) {
    return errorResponse('rate_limited', 'too many failed admin attempts; try again later', {
      'retry-after': String(wait),
    })
  }
  limiter.fail(clientAddress)
  const tried = authorization !== null && authorization !== undefined && authorization !== ''
  return errorResponse(
    'unauthorized',
    'a valid admin token is required (Authorization: Bearer ...)',
    tried ? undefined : { 'www-authenticate': 'Bearer' },
  )
}
