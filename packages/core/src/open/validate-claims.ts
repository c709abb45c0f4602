import { KeyholeError } from '../errors.js'
import { copyInjection } from '../inject/injection-type.js'
import type { InjectorRegistry } from '../inject/registry.js'
import { compilePolicy } from '../policy/authorize.js'
import { assertPolicyShape } from '../policy/validate-policy.js'
import { assertJti } from '../revocation/jti.js'
import type { Grant, Injection } from '../types.js'
import { invalidToken } from './invalid-token.js'
import { checkCnf } from './validate-layer.js'

/** What the claims are checked against. */
export interface ClaimsContext {
  /** The `kid` of the protected header (the key that opened the token). */
  readonly kid: string
  /** The protected header's `hosts` hint; must equal the claims' `hosts` exactly. */
  readonly headerHosts: readonly string[]
  /** Longest accepted `exp - iat`, seconds. */
  readonly maxTtl: number
  /** Accepted audiences; when set, the token's `aud` must name one of them. */
  readonly audience?: readonly string[]
  /** Accepted issuers; when set, the token's `iss` must be one of them. */
  readonly issuer?: readonly string[]
  /** The thumbprint of the trusted issuer key whose signature was verified; absent when unsigned. */
  readonly issuerKid?: string
  /** The credential types the proxy has (default: the built-in injectors). */
  readonly injectors?: InjectorRegistry
}

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0
const isTextList = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every(isText)

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Checks decrypted claims for everything but time and revocation, and returns them as a deeply
 * frozen {@link Grant} holding only the members keyhole defines (extra claims are dropped, never
 * passed on). Required: `jti`, `iat`, `exp`, `hosts`, `inject`; types of every optional claim;
 * `iat < exp` and `exp - iat <= maxTtl`; the policy and injections valid exactly as at mint; the
 * header's `hosts` hint identical to the claims; audience and issuer when the opener requires
 * them. Throws the opaque `invalid_token`.
 */
export function validateClaims(claims: unknown, context: ClaimsContext): Grant {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw invalidToken()
  const c = claims as Record<string, unknown>
  const { jti, iat, exp, nbf, iss, aud, sub, hosts, paths, methods, inject } = c
  const cnf = checkCnf(c.cnf)
  try {
    assertJti(jti)
  } catch {
    throw invalidToken()
  }
  if (!isNumericDate(iat) || !isNumericDate(exp) || exp <= iat || exp - iat > context.maxTtl)
    throw invalidToken()
  if (nbf !== undefined && (!isNumericDate(nbf) || nbf >= exp)) throw invalidToken()
  if (iss !== undefined && !isText(iss)) throw invalidToken()
  if (sub !== undefined && !isText(sub)) throw invalidToken()
  if (aud !== undefined && !isText(aud) && !isTextList(aud)) throw invalidToken()
  if (!isTextList(hosts) || !sameList(hosts, context.headerHosts)) throw invalidToken()
  if (paths !== undefined && !Array.isArray(paths)) throw invalidToken()
  if (methods !== undefined && !Array.isArray(methods)) throw invalidToken()
  if (!Array.isArray(inject) || inject.length === 0) throw invalidToken()
  // Built with map, not push: the array lives as long as the cached grant, so no spare capacity.
  const injections: Injection[] = inject.map((item: unknown) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalidToken()
    // Only `type` (or `in`) and the fields of the entry's injector; extra claims are dropped.
    return copyInjection(item, context.injectors) as Injection
  })
  try {
    assertPolicyShape(
      {
        hosts,
        paths: paths as string[] | undefined,
        methods: methods as string[] | undefined,
        inject: injections,
      },
      context.injectors,
    )
  } catch {
    // The policy validator's own message may quote an injected value; never pass it on.
    throw invalidToken()
  }
  if (context.audience) {
    const audiences = typeof aud === 'string' ? [aud] : ((aud as string[] | undefined) ?? [])
    if (!audiences.some((a) => context.audience!.includes(a))) throw invalidToken()
  }
  if (context.issuer && !(typeof iss === 'string' && context.issuer.includes(iss))) throw invalidToken()

  // Built member by member rather than with conditional spreads, which allocate a throwaway object
  // for every member present; the members come in the same order either way.
  const g: Record<string, unknown> = { jti, iat, exp }
  if (nbf !== undefined) g.nbf = nbf
  if (iss !== undefined) g.iss = iss
  if (aud !== undefined) g.aud = typeof aud === 'string' ? aud : Object.freeze([...(aud as string[])])
  if (sub !== undefined) g.sub = sub
  g.hosts = Object.freeze([...hosts])
  if (paths !== undefined) g.paths = Object.freeze([...(paths as string[])])
  if (methods !== undefined) g.methods = Object.freeze([...(methods as string[])])
  g.inject = Object.freeze(injections)
  g.kid = context.kid
  if (context.issuerKid !== undefined) g.issuerKid = context.issuerKid
  if (cnf) g.cnf = cnf
  const grant = Object.freeze(g) as unknown as Grant
  try {
    // The rest of the policy check: parsing the host and path patterns. Done by compiling the
    // grant's policy, which is cached by grant object, so `authorize` (the proxy's next step)
    // finds it parsed instead of parsing every pattern a second time.
    compilePolicy(grant)
  } catch {
    throw invalidToken()
  }
  return grant
}

/**
 * The time checks, run on every open including cache hits: `token_expired` once `now` is at or
 * past `exp + tolerance`; `token_not_yet_valid` while `now + tolerance` is before `nbf` or `iat`.
 */
export function checkTime(grant: Grant, nowSeconds: number, toleranceSeconds: number): void {
  if (nowSeconds >= grant.exp + toleranceSeconds) {
    throw new KeyholeError('token_expired', 'the token has expired')
  }
  if (
    (grant.nbf !== undefined && nowSeconds + toleranceSeconds < grant.nbf) ||
    nowSeconds + toleranceSeconds < grant.iat
  ) {
    throw new KeyholeError('token_not_yet_valid', 'the token is not valid yet')
  }
}
