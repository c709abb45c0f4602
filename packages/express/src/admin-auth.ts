import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { KeyholeError } from '@keyhole/core'

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i

/**
 * Returns a check for `Authorization: Bearer <admin token>` that takes the same time whatever
 * the presented value is: both sides are HMAC-SHA-256'd under a random per-process key (so
 * neither length nor a shared prefix shows) and compared with `timingSafeEqual`.
 */
export function createAdminCheck(adminToken: string): (authorization: string | undefined) => boolean {
  if (typeof adminToken !== 'string' || adminToken.length === 0) {
    throw new KeyholeError('bad_request', 'an admin route needs a non-empty adminToken')
  }
  const key = randomBytes(32)
  const expected = createHmac('sha256', key).update(adminToken).digest()
  return (authorization) => {
    const presented = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1]
    const digest = createHmac('sha256', key)
      .update(presented ?? '')
      .digest()
    return timingSafeEqual(digest, expected) && presented !== undefined
  }
}
