import { errorStatus, isKeyholeError, type KeyholeErrorCode } from '../errors.js'
import { PROOF_CHALLENGE } from '../proof/verify-proof.js'

// Messages used whenever the thrown one cannot be shown: for every token failure (one opaque
// message per code, no oracle) and whenever a message might echo something secret.
const DEFAULT_MESSAGES: Partial<Record<KeyholeErrorCode, string>> = {
  missing_token: 'no keyhole token in the request',
  invalid_token: 'the keyhole token is not valid',
  token_expired: 'the keyhole token has expired',
  token_not_yet_valid: 'the keyhole token is not valid yet',
  token_revoked: 'the keyhole token has been revoked',
  host_not_allowed: 'the token does not allow this host',
  path_not_allowed: 'the token does not allow this path',
  method_not_allowed: 'the token does not allow this method',
  bad_target: 'the target URL is not valid',
  upstream_unreachable: 'the upstream could not be reached',
  upstream_timeout: 'the upstream did not answer in time',
  revocation_unavailable: 'the revocation store could not be checked',
}

// Codes whose thrown message is useful to the caller and carries nothing about the token.
const DESCRIPTIVE = new Set<KeyholeErrorCode>([
  'host_not_allowed',
  'path_not_allowed',
  'method_not_allowed',
  'bad_target',
  'upstream_unreachable',
  'upstream_timeout',
  // Injector and scrubber refusals: fixed texts (what the body must be, the limit), never a value.
  'bad_request',
  'body_too_large',
  'response_not_scrubbable',
])

/**
 * The message a proxy error response carries: the thrown message for policy, target and
 * upstream errors, unless it contains one of `secrets` or is unreasonably long; a fixed message
 * per code otherwise (token errors always get the fixed one).
 */
export function publicMessage(
  code: KeyholeErrorCode,
  error: unknown,
  secrets: readonly string[] = [],
): string {
  const fallback = DEFAULT_MESSAGES[code] ?? 'the request was refused'
  if (!DESCRIPTIVE.has(code) || !isKeyholeError(error)) return fallback
  const message = error.message
  if (message.length > 300) return fallback
  for (const secret of secrets) if (secret && message.includes(secret)) return fallback
  return message
}

/**
 * A proxy error response: JSON `{"error":{"code","message"}}` with the status for `code`,
 * `X-Keyhole-Error: <code>`, `Cache-Control: no-store`, and on 401s
 * `WWW-Authenticate: Bearer error="invalid_token"`. `headers` are added (or replace those) when
 * the response is made: `headers.set()` afterwards is not read back by every server
 * (`@hono/node-server` installs a global `Response` whose later header changes other adapters in
 * the process do not see).
 *
 * @example
 * ```ts
 * return errorResponse('missing_token', 'no keyhole token in the request')
 * return errorResponse('rate_limited', undefined, { 'retry-after': '30' })
 * ```
 */
export function errorResponse(
  code: KeyholeErrorCode,
  message?: string,
  extraHeaders?: Readonly<Record<string, string>>,
): Response {
  const status = errorStatus[code]
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-keyhole-error': code,
  }
  if (code === 'missing_token') headers['www-authenticate'] = 'Bearer'
  else if (code === 'invalid_proof') headers['www-authenticate'] = PROOF_CHALLENGE
  else if (status === 401) headers['www-authenticate'] = 'Bearer error="invalid_token"'
  if (extraHeaders)
    for (const [name, value] of Object.entries(extraHeaders)) headers[name.toLowerCase()] = value
  const body = JSON.stringify({ error: { code, message: message ?? DEFAULT_MESSAGES[code] ?? code } })
  return new Response(body, { status, headers })
}
