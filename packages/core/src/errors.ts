/**
 * Every code keyhole can fail with. The first twelve are the wire protocol's (README, "Error codes");
 * the rest are raised by APIs that never sit behind the proxy (mint, keys, admin routes).
 */
export type KeyholeErrorCode =
  | 'missing_token'
  | 'invalid_token'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_revoked'
  | 'host_not_allowed'
  | 'path_not_allowed'
  | 'method_not_allowed'
  | 'bad_target'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'revocation_unavailable'
  | 'invalid_grant'
  | 'invalid_key'
  | 'jwks_unavailable'
  | 'unauthorized'
  | 'bad_request'
  | 'invalid_proof'
  | 'not_found'
  | 'rate_limited'
  | 'connect_disabled'
  | 'misdirected_request'
  | 'body_too_large'
  | 'response_not_scrubbable'

/** HTTP status the proxy answers with for each code. */
export const errorStatus: Readonly<Record<KeyholeErrorCode, number>> = Object.freeze({
  missing_token: 401,
  invalid_token: 401,
  token_expired: 401,
  token_not_yet_valid: 401,
  token_revoked: 403,
  host_not_allowed: 403,
  path_not_allowed: 403,
  method_not_allowed: 403,
  bad_target: 400,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  revocation_unavailable: 503,
  invalid_grant: 400,
  invalid_key: 500,
  jwks_unavailable: 502,
  unauthorized: 401,
  bad_request: 400,
  invalid_proof: 401,
  not_found: 404,
  rate_limited: 429,
  connect_disabled: 403,
  misdirected_request: 421,
  body_too_large: 413,
  response_not_scrubbable: 502,
})

/**
 * The one error class keyhole throws. Branch on `code`, never on `message`.
 * Messages are written for people and never contain a token or a credential value.
 *
 * @example
 * ```ts
 * try {
 *   await opener.open(token)
 * } catch (err) {
 *   if (err instanceof KeyholeError && err.code === 'token_expired') refreshToken()
 *   else throw err
 * }
 * ```
 */
export class KeyholeError extends Error {
  override name = 'KeyholeError'
  readonly code: KeyholeErrorCode
  /**
   * Why, for audit events only (e.g. `unsigned`, `unknown_issuer`, `bad_signature`,
   * `issuer_scope` on an `invalid_token`). Never sent to the client: an opaque code keeps the
   * proxy from being an oracle, while the operator's log still says what happened.
   */
  readonly reason?: string

  constructor(code: KeyholeErrorCode, message: string, options?: { cause?: unknown; reason?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    if (options?.reason !== undefined) this.reason = options.reason
  }

  /** The HTTP status that goes with {@link KeyholeError.code}. */
  get status(): number {
    return errorStatus[this.code]
  }
}

/**
 * True for a {@link KeyholeError}, also across realms and duplicated module copies.
 *
 * @example
 * ```ts
 * if (isKeyholeError(err, 'token_revoked')) console.warn('token was revoked')
 * ```
 */
export function isKeyholeError(value: unknown, code?: KeyholeErrorCode): value is KeyholeError {
  if (!(value instanceof Error) || value.name !== 'KeyholeError') return false
  return code === undefined || (value as KeyholeError).code === code
}
