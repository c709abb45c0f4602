import { KeyholeError } from '../errors.js'

/**
 * The one error for everything that fails before a token's claims are trusted. Always the same
 * message and no `cause`: which check failed (size, parse, kid, algorithm, tag, claims) is exactly
 * the oracle an attacker probing the proxy would want.
 */
export function invalidToken(reason?: InvalidTokenReason): KeyholeError {
  return new KeyholeError('invalid_token', 'the token is not valid', reason ? { reason } : undefined)
}

/**
 * Why a token failed the trust rules, carried in {@link KeyholeError.reason} for events only.
 * `unsigned`: no issuer signature and the opener does not accept unsigned grants;
 * `unknown_issuer`: signed by a key no trusted issuer has; `bad_signature`: the signature or its
 * header does not verify; `issuer_scope`: the grant names a host outside its issuer's scope.
 */
export type InvalidTokenReason = 'unsigned' | 'unknown_issuer' | 'bad_signature' | 'issuer_scope'
