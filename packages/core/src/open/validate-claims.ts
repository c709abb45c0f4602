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
  /**
   * Policies already validated with these `injectors`, by content (see {@link PolicyTemplates}).
   * Default: none, so every grant's policy is validated and copied afresh.
   */
  readonly templates?: PolicyTemplates
}

/** A validated policy: the frozen members every grant with the same policy shares. */
interface PolicyTemplate {
  readonly hosts: readonly string[]
  readonly paths: readonly string[] | undefined
  readonly methods: readonly string[] | undefined
  readonly inject: readonly Injection[]
}

/**
 * Validated policies by content, for one opener (one injector registry). An issuer typically
 * mints the same hosts, paths, methods and credentials into thousands of tokens that differ only
 * in `jti` and times; the first of them pays for validating and copying the policy, the rest
 * share its frozen arrays, and with them everything compiled from those arrays (host and path
 * rules, the injection plan, the scrubber). Bounded, oldest first out.
 */
export interface PolicyTemplates {
  get(key: string): PolicyTemplate | undefined
  set(key: string, template: PolicyTemplate): void
}

/** A {@link PolicyTemplates} holding at most `max` policies. */
export function createPolicyTemplates(max = 256): PolicyTemplates {
  const entries = new Map<string, PolicyTemplate>()
  return {
    get: (key) => entries.get(key),
    set(key, template) {
      if (entries.size >= max) entries.delete(entries.keys().next().value as string)
      entries.set(key, template)
    },
  }
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
  // The claims come from JSON.parse, so their JSON text is their whole content: equal text, equal
  // policy, and the template validated for it before stands for this one. The type checks above
  // run first because JSON cannot tell a missing member from an undefined one.
  const templates = context.templates
  const key = templates && JSON.stringify([hosts, paths, methods, inject])
  let policy = key === undefined ? undefined : templates!.get(key)
  if (policy === undefined) {
    policy = validatePolicy(
      hosts,
      paths as unknown[] | undefined,
      methods as unknown[] | undefined,
      inject,
      context,
    )
    if (key !== undefined) templates!.set(key, policy)
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
  g.hosts = policy.hosts
  if (policy.paths !== undefined) g.paths = policy.paths
  if (policy.methods !== undefined) g.methods = policy.methods
  g.inject = policy.inject
  g.kid = context.kid
  if (context.issuerKid !== undefined) g.issuerKid = context.issuerKid
  if (cnf) g.cnf = cnf
  return Object.freeze(g) as unknown as Grant
}

/** Validates and copies a policy's members; throws the opaque `invalid_token`. */
function validatePolicy(
  hosts: string[],
  paths: unknown[] | undefined,
  methods: unknown[] | undefined,
  inject: unknown[],
  context: ClaimsContext,
): PolicyTemplate {
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
  const policy: PolicyTemplate = {
    hosts: Object.freeze([...hosts]),
    paths: paths === undefined ? undefined : Object.freeze([...(paths as string[])]),
    methods: methods === undefined ? undefined : Object.freeze([...(methods as string[])]),
    inject: Object.freeze(injections),
  }
  try {
    // The rest of the policy check: parsing the host and path patterns. compilePolicy caches the
    // result by these frozen arrays, so `authorize` (the proxy's next step) finds it parsed, for
    // this grant and every later one that shares the template.
    compilePolicy(policy)
  } catch {
    throw invalidToken()
  }
  return policy
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
