import type { IncomingMessage, ServerResponse } from 'node:http'
import { errorResponse, isKeyholeError, type KeyholeErrorCode } from '@keyhole/core'
import type { NextFunction, Request, RequestHandler } from 'express'
import { createAdminCheck } from './admin-auth.js'
import { sendResponse } from './send-response.js'

// Codes whose messages admin routes may show: they describe the request, never a secret
// (mint's messages name fields and limits, not values).
const SHOWN = new Set<KeyholeErrorCode>(['bad_request', 'invalid_grant', 'unauthorized'])

/**
 * Wraps an admin handler: refuses a missing or wrong admin token with 401 `unauthorized`
 * before reading the body, and turns failures into keyhole's JSON error responses.
 * `fallback` is the code for errors that are not `KeyholeError`s.
 */
export function adminRoute(
  adminToken: string,
  fallback: KeyholeErrorCode,
  run: (req: IncomingMessage & { body?: unknown }) => Promise<Response>,
): RequestHandler {
  const check = createAdminCheck(adminToken)
  return (req: Request, res: ServerResponse, next: NextFunction) => {
    const respond = async () => {
      if (!check(req.headers.authorization)) {
        return errorResponse('unauthorized', 'a valid admin token is required (Authorization: Bearer ...)')
      }
      try {
        return await run(req)
      } catch (error) {
        const code = isKeyholeError(error) ? error.code : fallback
        return errorResponse(code, SHOWN.has(code) && isKeyholeError(error) ? error.message : undefined)
      }
    }
    respond()
      .then((response) => sendResponse(res, response))
      .catch(next)
  }
}
