import { KeyholeError } from '@keyhole/core'

const encoder = new TextEncoder()
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i

/**
 * Returns a check for `Authorization: Bearer <admin token>` that takes the same time whatever the
 * presented value is: both sides are HMAC-SHA-256'd under a random per-process key (so neither
 * their length nor a common prefix shows in the timing) and the digests are compared with a
 * fixed-length XOR loop. Uses WebCrypto only, so it runs wherever Hono runs.
 */
export function createAdminCheck(
  adminToken: string,
): (authorization: string | undefined) => Promise<boolean> {
  if (typeof adminToken !== 'string' || adminToken.length === 0) {
    throw new KeyholeError('bad_request', 'an admin route needs a non-empty adminToken')
  }
  let state: Promise<{ key: CryptoKey; expected: Uint8Array }> | undefined
  const init = async () => {
    const key = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    const expected = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(adminToken)))
    return { key, expected }
  }
  return async (authorization) => {
    state ??= init()
    const { key, expected } = await state
    const presented = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1]
    const digest = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(presented ?? '')))
    let diff = presented === undefined ? 1 : 0
    for (let i = 0; i < expected.length; i++) diff |= (expected[i] as number) ^ (digest[i] as number)
    return diff === 0
  }
}
