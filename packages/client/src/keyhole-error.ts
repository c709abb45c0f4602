/** The codes a keyhole proxy answers with (@keyhole/core README, "Error codes"); other strings may appear from newer proxies. */
export type KeyholeErrorCode =
  | 'missing_token'
  | 'invalid_token'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'invalid_proof'
  | 'token_revoked'
  | 'host_not_allowed'
  | 'path_not_allowed'
  | 'method_not_allowed'
  | 'bad_target'
  | 'bad_request'
  | 'body_too_large'
  | 'upstream_unreachable'
  | 'response_not_scrubbable'
  | 'upstream_timeout'
  | 'revocation_unavailable'
  | (string & {})

/** A keyhole proxy's error, read from its response. */
export interface KeyholeErrorInfo {
  readonly code: KeyholeErrorCode
  readonly message: string
  readonly status: number
}

/** The header that marks responses produced by the proxy itself, not by the upstream. */
export const ERROR_HEADER = 'X-Keyhole-Error'

/**
 * True when the response was produced by the keyhole proxy (it carries `X-Keyhole-Error`), not
 * by the upstream API, whose errors pass through untouched.
 *
 * @example
 * ```ts
 * const response = await fetch('https://api.github.com/user')
 * if (isKeyholeError(response)) console.error(await readKeyholeError(response))
 * ```
 */
export function isKeyholeError(response: Response): boolean {
  return response.headers.has(ERROR_HEADER)
}

/**
 * Reads the proxy's error from a response: `{ code, message, status }`, or `undefined` when the
 * response is not a keyhole error. Reads a clone, so the response body stays readable; when the
 * body is not the expected JSON, the code comes from the `X-Keyhole-Error` header.
 *
 * @example
 * ```ts
 * const error = await readKeyholeError(response)
 * if (error?.code === 'token_expired') await refreshToken()
 * ```
 */
export async function readKeyholeError(response: Response): Promise<KeyholeErrorInfo | undefined> {
  const header = response.headers.get(ERROR_HEADER)
  if (header === null) return undefined
  let code: string = header.trim()
  let message = ''
  try {
    const body = (await response.clone().json()) as { error?: { code?: unknown; message?: unknown } } | null
    if (typeof body?.error?.code === 'string') code = body.error.code
    if (typeof body?.error?.message === 'string') message = body.error.message
  } catch {
    // Body already used, not JSON, or not the expected shape: the header is enough.
  }
  return { code, message, status: response.status }
}
