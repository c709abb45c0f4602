import { CliError } from './cli-error.js'

/**
 * Decodes the public protected header of a compact JWE. This reads what anyone can read and
 * trusts none of it; only the opener decides whether a token is valid.
 *
 * @example
 * ```ts
 * readProtectedHeader(token).hosts // ['api.github.com']
 * ```
 */
export function readProtectedHeader(token: string): Record<string, unknown> {
  const parts = token.split('.')
  const encoded = parts[0] ?? ''
  if (parts.length !== 5 || !/^[A-Za-z0-9_-]+$/.test(encoded))
    throw new CliError(
      'this is not a keyhole token (expected a compact JWE: five base64url parts separated by dots)',
    )
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'))
  } catch {
    throw new CliError('this is not a keyhole token (its header is not base64url-encoded JSON)')
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new CliError('this is not a keyhole token (its header is not a JSON object)')
  return header as Record<string, unknown>
}
