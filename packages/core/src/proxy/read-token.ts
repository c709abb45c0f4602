import { KeyholeError } from '../errors.js'

/** The header keyhole's own client sends the token in. */
export const TOKEN_HEADER = 'x-keyhole-token'

// The shape of a compact JWE: five base64url parts (the encrypted key may be empty).
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const BEARER = /^bearer[ \t]+/i
const BASIC = /^basic[ \t]+/i
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * The password of a `Basic` credential (what a proxy URL `http://keyhole:TOKEN@proxy` makes a
 * client send), or `undefined` when the value is not well-formed Basic: such a header may be
 * meant for another proxy and is ignored here (it is stripped before forwarding all the same).
 */
function basicPassword(value: string): string | undefined {
  const encoded = value.replace(BASIC, '').trim()
  if (!BASE64.test(encoded)) return undefined
  let decoded: string
  try {
    decoded = atob(encoded)
  } catch {
    return undefined
  }
  const colon = decoded.indexOf(':')
  return colon === -1 ? undefined : decoded.slice(colon + 1)
}

/**
 * Reads the keyhole token from a request's headers: `X-Keyhole-Token`, then
 * `Authorization: Bearer`, then `Proxy-Authorization` (`Bearer <token>`, or `Basic` with any user
 * name and the token as password), then each of `tokenHeaders` in order. Other `Authorization`
 * and `Proxy-Authorization` schemes are not read (and are stripped before forwarding).
 *
 * When several of those headers hold a value: equal values are one token; otherwise, if exactly
 * one of the distinct values has the shape of a keyhole token (a compact JWE), it is the token and
 * the others are taken for an SDK's placeholder key (all of them are stripped before forwarding
 * anyway). Two different token-shaped values are refused as `invalid_token` rather than guessing.
 * A value holding a comma or whitespace (a header sent twice and merged) is refused as
 * `invalid_token`, never split. No value at all is `missing_token`.
 *
 * @example
 * ```ts
 * const token = readToken(request.headers, ['x-api-key'])
 * ```
 */
export function readToken(headers: Headers, tokenHeaders: readonly string[] = []): string {
  let found: string | undefined
  let conflict: string[] | undefined

  const consider = (value: string | null) => {
    if (!value) return
    // A comma or whitespace inside a value means the header was sent twice and merged, or is not
    // a token at all; never split it into something that might open. (indexOf: tokens are long.)
    if (value.indexOf(',') !== -1 || value.indexOf(' ') !== -1 || value.indexOf('\t') !== -1) {
      throw new KeyholeError('invalid_token', 'the token header was sent more than once or is malformed')
    }
    if (found === undefined) found = value
    else if (value !== found) {
      if (conflict) conflict.push(value)
      else conflict = [found, value]
    }
  }

  consider(headers.get(TOKEN_HEADER))
  const authorization = headers.get('authorization')
  if (authorization !== null && BEARER.test(authorization)) {
    const credentials = authorization.replace(BEARER, '')
    // "Bearer" with nothing after it is as bad as a merged header: it claims to carry a token.
    if (credentials === '') throw new KeyholeError('invalid_token', 'the bearer credentials are empty')
    consider(credentials)
  }
  const proxyAuthorization = headers.get('proxy-authorization')
  if (proxyAuthorization !== null) {
    if (BEARER.test(proxyAuthorization)) {
      const credentials = proxyAuthorization.replace(BEARER, '')
      if (credentials === '') throw new KeyholeError('invalid_token', 'the bearer credentials are empty')
      consider(credentials)
    } else if (BASIC.test(proxyAuthorization)) {
      consider(basicPassword(proxyAuthorization) ?? null)
    }
  }
  for (const name of tokenHeaders) consider(headers.get(name))

  if (found === undefined) throw new KeyholeError('missing_token', 'no keyhole token in the request')
  if (conflict === undefined) return found

  let token: string | undefined
  for (const value of conflict) {
    if (!COMPACT_JWE.test(value) || value === token) continue
    if (token !== undefined) {
      throw new KeyholeError('invalid_token', 'the request carries two different keyhole tokens')
    }
    token = value
  }
  if (token === undefined) {
    throw new KeyholeError('invalid_token', 'the request carries two different token values')
  }
  return token
}
