import { base64url } from 'jose'
import { type Duration, toSeconds } from './duration.js'
import { KeyholeError } from './errors.js'
import type { FetchJwksOptions } from './fetch-jwks.js'
import { bindingThumbprint } from './keys/bind-key.js'
import { encryptTo, type Recipient, resolveRecipient } from './keys/encrypt-to.js'
import { FORBIDDEN_METHODS } from './policy/authorize.js'
import { hostRuleCovers } from './policy/host-cover.js'
import { type HostRule, parseHostPattern } from './policy/host-pattern.js'
import { parsePathPattern } from './policy/path-pattern.js'

/** The media type of an attenuation layer's plaintext (the JWE's `cty`). */
export const ATTENUATION_CTY = 'keyhole+att'

/** How a token is narrowed: every member is optional, and an absent one narrows nothing. */
export interface Restriction {
  /** Host patterns; each must lie inside the token's own host hint. */
  hosts?: readonly string[]
  /** Path patterns (`/repos/acme/app/**`). */
  paths?: readonly string[]
  /** Upper-case methods. */
  methods?: readonly string[]
  /** Lifetime of the narrow token from now. Default `'15m'`; the inner expiry still wins if earlier. */
  ttl?: Duration
  /** Who the narrow token is for (shown in audit events). */
  sub?: string
  /**
   * Binds the narrow token to a key: a PUBLIC JWK (P-256 or Ed25519, e.g. `generateProofKey()`'s
   * `publicJwk` from `@keyhole/client`). Every request must then carry a proof signed by it. A token
   * already bound to another key cannot be re-bound.
   */
  bindKey?: JsonWebKey
}

/** Options of {@link attenuate}. */
export interface AttenuateOptions {
  /** The proxy's public key, JWKS or JWKS URL, as for `mint`. */
  to: Recipient
  /** Options for fetching a JWKS URL. */
  jwks?: FetchJwksOptions
  /** Longest `ttl` accepted. Default `'24h'`. */
  maxTtl?: Duration
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

const UPPER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Z]+$/
const RESTRICTION_FIELDS = new Set(['hosts', 'paths', 'methods', 'ttl', 'sub', 'bindKey'])

function invalid(message: string): KeyholeError {
  return new KeyholeError('invalid_grant', message)
}

/** The public hints of the token being narrowed: its host patterns and key binding. */
function readHints(token: string): { hosts: string[]; jkt?: string } {
  let header: unknown
  try {
    if (typeof token !== 'string' || token.split('.').length !== 5) throw new Error('shape')
    header = JSON.parse(new TextDecoder().decode(base64url.decode(token.slice(0, token.indexOf('.')))))
  } catch {
    throw new KeyholeError('bad_request', 'the token to attenuate is not a keyhole token')
  }
  const { typ, hosts, jkt } = (header ?? {}) as Record<string, unknown>
  if (typ !== 'keyhole+jwt' || !Array.isArray(hosts) || !hosts.every((h) => typeof h === 'string')) {
    throw new KeyholeError('bad_request', 'the token to attenuate is not a keyhole token')
  }
  return { hosts, ...(typeof jkt === 'string' && { jkt }) }
}

function list(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
    throw invalid(`${field} must be a non-empty list of strings`)
  }
  return [...value]
}

/**
 * Narrows a keyhole token offline, with only the proxy's public JWKS: the result is a new token
 * (`cty: keyhole+att`) that wraps the given one, encrypted, with more restrictions — fewer hosts,
 * paths or methods, a shorter life, a subject, a key binding. Hand it to a sub-agent; the wide
 * token stays hidden inside. The proxy opens layer by layer (at most 4) and a request must satisfy
 * every layer, so a layer can only narrow. Throws `invalid_grant` for a restriction that is
 * malformed or names hosts the token's hint does not cover, or a key binding that would re-bind
 * a bound token; messages never quote what was passed.
 *
 * @example
 * ```ts
 * const narrow = await attenuate(token, { paths: ['/repos/acme/app/**'], methods: ['GET'], ttl: '5m' }, {
 *   to: 'https://proxy.internal/.well-known/jwks.json',
 * })
 * ```
 */
export async function attenuate(
  token: string,
  restriction: Restriction,
  options: AttenuateOptions,
): Promise<string> {
  if (typeof options !== 'object' || options === null || options.to === undefined) {
    throw new KeyholeError('bad_request', 'attenuate needs { to }: a public JWK, a JWKS or a JWKS URL')
  }
  if (typeof restriction !== 'object' || restriction === null)
    throw invalid('a restriction must be an object')
  for (const field of Object.keys(restriction)) {
    // A misspelt field would otherwise silently narrow nothing.
    if (!RESTRICTION_FIELDS.has(field)) {
      throw invalid(`the restriction has an unknown field; fields are ${[...RESTRICTION_FIELDS].join(', ')}`)
    }
  }
  const hints = readHints(token)
  const hosts = list(restriction.hosts, 'hosts')
  const paths = list(restriction.paths, 'paths')
  const methods = list(restriction.methods, 'methods')
  if (hosts) {
    const inner: HostRule[] = []
    for (const pattern of hints.hosts) {
      try {
        inner.push(parseHostPattern(pattern))
      } catch {
        // A hint keyhole would not have written; it covers nothing.
      }
    }
    hosts.forEach((pattern, i) => {
      let rule: HostRule
      try {
        rule = parseHostPattern(pattern)
      } catch {
        throw invalid(`hosts[${i}] is not a valid host pattern`)
      }
      if (!inner.some((outer) => hostRuleCovers(outer, rule))) {
        throw invalid(`hosts[${i}] is not inside the token's own hosts`)
      }
    })
  }
  paths?.forEach((pattern, i) => {
    try {
      parsePathPattern(pattern)
    } catch {
      throw invalid(`paths[${i}] is not a valid path pattern`)
    }
  })
  methods?.forEach((method, i) => {
    if (!UPPER_TOKEN.test(method) || FORBIDDEN_METHODS.includes(method)) {
      throw invalid(`methods[${i}] must be an upper-case HTTP method keyhole allows`)
    }
  })
  if (
    restriction.sub !== undefined &&
    (typeof restriction.sub !== 'string' || !/^[^\0-\x1f\x7f]+$/.test(restriction.sub))
  ) {
    throw invalid('"sub" must be a non-empty string without control characters')
  }
  let ttl: number
  let maxTtl: number
  try {
    ttl = toSeconds(restriction.ttl ?? '15m')
    maxTtl = toSeconds(options.maxTtl ?? '24h')
  } catch {
    throw invalid('ttl and maxTtl are durations such as "15m", "1h" or a number of seconds')
  }
  if (!(ttl > 0) || ttl > maxTtl) throw invalid(`ttl must be more than 0 and at most ${maxTtl} seconds`)

  let jkt: string | undefined
  if (restriction.bindKey !== undefined) {
    jkt = await bindingThumbprint(restriction.bindKey)
    if (hints.jkt !== undefined && hints.jkt !== jkt) {
      throw invalid('the token is already bound to another key; a bound token cannot be re-bound')
    }
  }

  const iat = Math.floor((options.now ?? Date.now)() / 1000)
  const claims = {
    jti: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
    iat,
    exp: iat + Math.ceil(ttl),
    ...(restriction.sub !== undefined && { sub: restriction.sub }),
    ...(hosts && { hosts }),
    ...(paths && { paths }),
    ...(methods && { methods }),
    ...(jkt !== undefined && { cnf: { jkt } }),
    inner: token,
  }
  const to = await resolveRecipient(options.to, options.jwks)
  const plaintext = new TextEncoder().encode(JSON.stringify(claims))
  try {
    return await encryptTo(to, plaintext, {
      cty: ATTENUATION_CTY,
      hosts: hosts ?? hints.hosts,
      ...((jkt ?? hints.jkt) !== undefined && { jkt: jkt ?? hints.jkt }),
    })
  } finally {
    plaintext.fill(0)
  }
}
