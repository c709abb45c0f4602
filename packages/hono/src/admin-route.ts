import { errorResponse, isKeyholeError, type KeyholeErrorCode } from '@keyhole/core'
import type { Context, Handler } from 'hono'
import { createAdminCheck } from './admin-auth.js'

// Codes whose messages admin routes may show: they describe the request, never a secret
// (mint's messages name fields and limits, not values).
const SHOWN = new Set<KeyholeErrorCode>(['bad_request', 'invalid_grant', 'unauthorized'])

/**
 * Wraps an admin handler: refuses a missing or wrong admin token with 401 `unauthorized`
 * before reading anything else, and turns failures into keyhole's JSON error responses.
 * `fallback` is the code for errors that are not `KeyholeError`s.
 */
export function adminRoute(
  adminToken: string,
  fallback: KeyholeErrorCode,
  run: (c: Context) => Promise<Response>,
): Handler {
  const check = createAdminCheck(adminToken)
  return async (c) => {
    try {
      if (!(await check(c.req.header('authorization')))) {
        return errorResponse('unauthorized', 'a valid admin token is required (Authorization: Bearer ...)')
      }
      return await run(c)
    } catch (error) {
      const code = isKeyholeError(error) ? error.code : fallback
      return errorResponse(code, SHOWN.has(code) && isKeyholeError(error) ? error.message : undefined)
    }
  }
}
