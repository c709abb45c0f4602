import { FORBIDDEN_METHODS } from '../policy/authorize.js'
import { parseHostPattern } from '../policy/host-pattern.js'
import { parsePathPattern } from '../policy/path-pattern.js'
import { assertJti } from '../revocation/jti.js'
import type { LayerPolicy } from '../types.js'
import { invalidToken } from './invalid-token.js'

/** The checked claims of one attenuation layer. */
export interface LayerClaims extends LayerPolicy {
  readonly jti: string
  readonly iat: number
  readonly exp: number
  readonly nbf?: number
  readonly sub?: string
  readonly cnf?: { readonly jkt: string }
  /** The token this layer narrows. */
  readonly inner: string
}

// Exactly what `attenuate` writes. `inject` and `iss` in particular: a layer carries no credential
// and speaks for no issuer.
const LAYER_MEMBERS = new Set([
  'jti',
  'iat',
  'exp',
  'nbf',
  'sub',
  'hosts',
  'paths',
  'methods',
  'cnf',
  'inner',
])
const UPPER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Z]+$/
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0

function patterns(value: unknown, parse: (p: string) => unknown): readonly string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length === 0) throw invalidToken()
  for (const item of value) {
    if (typeof item !== 'string') throw invalidToken()
    try {
      parse(item)
    } catch {
      throw invalidToken()
    }
  }
  return Object.freeze([...value])
}

/** Checks a `cnf` claim: exactly `{ jkt }` with an RFC 7638 SHA-256 thumbprint. */
export function checkCnf(cnf: unknown): { readonly jkt: string } | undefined {
  if (cnf === undefined) return undefined
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) throw invalidToken()
  const keys = Object.keys(cnf)
  const { jkt } = cnf as { jkt?: unknown }
  if (keys.length !== 1 || typeof jkt !== 'string' || !THUMBPRINT.test(jkt)) throw invalidToken()
  return Object.freeze({ jkt })
}

/**
 * Checks the decrypted claims of an attenuation layer: only the members `attenuate` writes
 * (`inject` and `iss` are refused), `jti`/`iat`/`exp` valid with `exp - iat <= maxTtl`, patterns
 * and methods as valid as at mint, `cnf` exactly `{ jkt }`, and an `inner` token string. Throws the
 * opaque `invalid_token`.
 */
export function validateLayer(claims: unknown, maxTtl: number): LayerClaims {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw invalidToken()
  for (const member of Object.keys(claims)) if (!LAYER_MEMBERS.has(member)) throw invalidToken()
  const c = claims as Record<string, unknown>
  try {
    assertJti(c.jti)
  } catch {
    throw invalidToken()
  }
  const { iat, exp, nbf, sub, inner } = c
  if (!isNumericDate(iat) || !isNumericDate(exp) || exp <= iat || exp - iat > maxTtl) throw invalidToken()
  if (nbf !== undefined && (!isNumericDate(nbf) || nbf >= exp)) throw invalidToken()
  if (sub !== undefined && (typeof sub !== 'string' || sub.length === 0)) throw invalidToken()
  if (typeof inner !== 'string' || inner.length === 0) throw invalidToken()
  const hosts = patterns(c.hosts, parseHostPattern)
  const paths = patterns(c.paths, parsePathPattern)
  const methods = patterns(c.methods, (m) => {
    if (!UPPER_TOKEN.test(m) || FORBIDDEN_METHODS.includes(m)) throw new Error('method')
  })
  const cnf = checkCnf(c.cnf)
  return {
    jti: c.jti as string,
    iat,
    exp,
    ...(nbf !== undefined && { nbf }),
    ...(sub !== undefined && { sub: sub as string }),
    ...(hosts && { hosts }),
    ...(paths && { paths }),
    ...(methods && { methods }),
    ...(cnf && { cnf }),
    inner,
  }
}
