import { KeyholeError } from '../errors.js'

/**
 * The one error for everything that fails before a token's claims are trusted. Always the same
 * message and no `cause`: which check failed (size, parse, kid, algorithm, tag, claims) is exactly
 * the oracle an attacker probing the proxy would want.
 */
export function invalidToken(): KeyholeError {
  return new KeyholeError('invalid_token', 'the token is not valid')
}
