import { KeyholeError } from '../../errors.js'
import { type HostRule, type HostTarget, matchHost, parseHostPattern } from '../../policy/host-pattern.js'

// Bounds on what one Proxy-Authorization may make the proxy parse: a proxy URL with more tokens
// than this is a mistake, and a header past this size is not a list of tokens.
const MAX_TOKENS = 32
const MAX_HEADER = 64 * 1024
const BEARER = /^bearer[ \t]+/i
const BASIC = /^basic[ \t]+/i
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/**
 * Reads the keyhole tokens from a `Proxy-Authorization` value: `Bearer <token>`, or `Basic` with
 * any user name and, as password, one token or several separated by commas (what a proxy URL
 * `http://keyhole:TOKEN1,TOKEN2@proxy:8787` makes clients send). Nothing is opened here.
 *
 * @throws KeyholeError `missing_token` (no header, or no token in it), `invalid_token` (another
 *   scheme, bad Basic encoding, a value that is not a compact JWE, too many tokens)
 * @example
 * ```ts
 * readProxyTokens(`Basic ${btoa(`keyhole:${token}`)}`) // [token]
 * ```
 */
export function readProxyTokens(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') {
    throw new KeyholeError('missing_token', 'no keyhole token in Proxy-Authorization')
  }
  if (value.length > MAX_HEADER) throw new KeyholeError('invalid_token', 'Proxy-Authorization is too large')
  let list: string
  if (BEARER.test(value)) {
    list = value.replace(BEARER, '').trim()
  } else if (BASIC.test(value)) {
    const encoded = value.replace(BASIC, '').trim()
    if (!BASE64.test(encoded))
      throw new KeyholeError('invalid_token', 'Proxy-Authorization is not valid Basic')
    const decoded = Buffer.from(encoded, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon === -1) throw new KeyholeError('invalid_token', 'Proxy-Authorization is not valid Basic')
    list = decoded.slice(colon + 1)
  } else {
    throw new KeyholeError('invalid_token', 'Proxy-Authorization must be Basic or Bearer')
  }
  const tokens = list
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '')
  if (tokens.length === 0) throw new KeyholeError('missing_token', 'no keyhole token in Proxy-Authorization')
  if (tokens.length > MAX_TOKENS)
    throw new KeyholeError('invalid_token', 'too many tokens in Proxy-Authorization')
  for (const token of tokens) {
    if (!COMPACT_JWE.test(token))
      throw new KeyholeError('invalid_token', 'a proxy password is not a keyhole token')
  }
  return tokens
}

/**
 * The host rules of a token's public `hosts` hint (its protected header, readable without any
 * key). Patterns that do not parse are left out: they match nothing.
 *
 * @throws KeyholeError `invalid_token` when the header cannot be read or has no `hosts`
 */
export function tokenHostRules(token: string): HostRule[] {
  let hosts: unknown
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'))
    hosts = (header as { hosts?: unknown } | null)?.hosts
  } catch {
    hosts = undefined
  }
  if (!Array.isArray(hosts)) throw new KeyholeError('invalid_token', 'a token has no hosts hint')
  const rules: HostRule[] = []
  for (const pattern of hosts) {
    try {
      if (typeof pattern === 'string') rules.push(parseHostPattern(pattern))
    } catch {
      // An unparsable hint names no host; the engine would refuse the token anyway.
    }
  }
  return rules
}

/**
 * Picks, of the tokens a client sent, the first whose public `hosts` hint covers the target's
 * scheme, host and port. The hint is only routing: the engine still opens the chosen token and
 * enforces its signed policy.
 *
 * @throws KeyholeError `host_not_allowed` when no token names the target; `invalid_token` when
 *   a token's header cannot be read
 * @example
 * ```ts
 * chooseToken([githubToken, openaiToken], { scheme: 'https', host: 'api.openai.com', port: 443 }) // openaiToken
 * ```
 */
export function chooseToken(tokens: readonly string[], target: HostTarget): string {
  for (const token of tokens) {
    for (const rule of tokenHostRules(token)) if (matchHost(rule, target)) return token
  }
  throw new KeyholeError('host_not_allowed', 'no token in Proxy-Authorization names this host')
}

/**
 * {@link chooseToken} for a CONNECT, which always carries HTTPS. A token that names the authority
 * for plain HTTP only is still refused, but the message says why: some clients (undici's
 * `ProxyAgent` by default) tunnel `http://` URLs too, and should send them in absolute form.
 *
 * @throws KeyholeError `host_not_allowed`
 * @example
 * ```ts
 * chooseConnectToken([httpOnlyToken], { scheme: 'https', host: 'api.example.com', port: 80 })
 * // throws host_not_allowed: "a CONNECT tunnel carries HTTPS only, ..."
 * ```
 */
export function chooseConnectToken(tokens: readonly string[], authority: HostTarget): string {
  try {
    return chooseToken(tokens, authority)
  } catch (error) {
    const plain: HostTarget = { scheme: 'http', host: authority.host, port: authority.port }
    if (!tokens.some((token) => names(token, plain))) throw error
    throw new KeyholeError(
      'host_not_allowed',
      'a CONNECT tunnel carries HTTPS only, and the token names this host for plain HTTP: send plain-HTTP requests in absolute form (GET http://host/path; undici: ProxyAgent({ proxyTunnel: false }))',
    )
  }
}

function names(token: string, target: HostTarget): boolean {
  try {
    return tokenHostRules(token).some((rule) => matchHost(rule, target))
  } catch {
    return false
  }
}
