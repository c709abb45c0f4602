import { KeyholeError } from '../errors.js'
import { injectionType } from '../inject/injection-type.js'
import type { InjectEntry, Injector } from '../inject/injector.js'
import { builtinInjectors, type InjectorRegistry } from '../inject/registry.js'
import type { Grant } from '../types.js'

/** A credential applied through its injector rather than the precompiled header/query/cookie path. */
export interface PluginStep {
  readonly injector: Injector<InjectEntry>
  readonly entry: InjectEntry
}

/** A grant's `inject` list, compiled once per grant object for the hot path. */
export interface InjectionPlan {
  /** Injected headers, one entry per name (case-insensitive); repeated names are combined with `, `. */
  readonly headers: readonly (readonly [name: string, value: string])[]
  /** Lower-case names of injected headers. */
  readonly headerNames: ReadonlySet<string>
  /** The encoded `name=value&...` pairs to append to the query, or `''`. */
  readonly query: string
  /** Names of injected query parameters. */
  readonly queryNames: ReadonlySet<string>
  /** True when a cookie is injected. */
  readonly cookie: boolean
  /** The `Cookie` header value to send (`a=1; b=2`), when a cookie is injected. */
  readonly cookieHeader: string | undefined
  /**
   * Every credential value and its derived forms (each injector's `secrets(entry)`), for the
   * scrubber and so error paths can make sure none of them is echoed.
   */
  readonly secrets: readonly string[]
  /**
   * Credentials of the other kinds (basic, body, hmac, oauth2, aws-sigv4, plug-ins), in the order
   * they are applied: every non-signing entry in grant order, then the signing ones.
   */
  readonly steps: readonly PluginStep[]
}

// Keyed by the grant's `inject` array, which is frozen and which the opener shares between grants
// with the same policy: one compilation serves every request of the same token, and of every
// other token carrying the same credentials.
const plansByRegistry = new WeakMap<InjectorRegistry, WeakMap<Grant['inject'], InjectionPlan>>()
const NO_NAMES: ReadonlySet<string> = new Set()
const NO_STEPS: readonly PluginStep[] = Object.freeze([])
const FAST_TYPES = new Set(['header', 'query', 'cookie'])

/**
 * Compiles (and caches per `inject` array, so treat it as immutable) where the grant's credentials go.
 *
 * @example
 * ```ts
 * const plan = compileInjection(grant)
 * plan.headerNames.has('authorization')
 * ```
 */
export function compileInjection(
  grant: Pick<Grant, 'inject'>,
  registry: InjectorRegistry = builtinInjectors,
): InjectionPlan {
  let plans = plansByRegistry.get(registry)
  if (plans === undefined) {
    plans = new WeakMap()
    plansByRegistry.set(registry, plans)
  }
  let plan = plans.get(grant.inject)
  if (plan) return plan
  const headers = new Map<string, [string, string]>()
  const query: string[] = []
  const queryNames = new Set<string>()
  const cookies: string[] = []
  const headerNames = new Set<string>()
  const secrets = new Set<string>()
  const plain: PluginStep[] = []
  const signing: PluginStep[] = []
  for (const rule of grant.inject) {
    const entry = rule as unknown as Readonly<Record<string, unknown>>
    const type = injectionType(entry)
    const injector = registry.get(type)
    if (injector === undefined) {
      // The opener refuses unknown types with the same registry; a grant built by hand may not.
      throw new KeyholeError('invalid_token', 'the token names a credential type this proxy does not have')
    }
    const typed = (entry.type === type ? entry : { ...entry, type }) as InjectEntry
    for (const secret of injector.secrets(typed)) if (secret) secrets.add(secret)
    for (const name of injector.writesHeaders(typed)) headerNames.add(name.toLowerCase())
    if (FAST_TYPES.has(type) && injector === builtinInjectors.get(type)) {
      const name = entry.name as string
      const value = entry.value as string
      if (type === 'header') {
        const lower = name.toLowerCase()
        const existing = headers.get(lower)
        if (existing) existing[1] = `${existing[1]}, ${value}`
        else headers.set(lower, [name, value])
      } else if (type === 'query') {
        queryNames.add(name)
        query.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
      } else {
        cookies.push(`${name}=${value}`)
      }
    } else {
      ;(injector.signs === true ? signing : plain).push({ injector, entry: typed })
    }
  }
  const steps = plain.length + signing.length > 0 ? Object.freeze([...plain, ...signing]) : NO_STEPS
  plan = Object.freeze({
    headers: [...headers.values()],
    headerNames: headerNames.size > 0 ? headerNames : NO_NAMES,
    query: query.join('&'),
    // Plans live as long as their grant in the opener's cache: no spare capacity, no empty Sets.
    queryNames: queryNames.size > 0 ? queryNames : NO_NAMES,
    cookie: cookies.length > 0,
    cookieHeader: cookies.length > 0 ? cookies.join('; ') : undefined,
    secrets: [...secrets],
    steps,
  })
  plans.set(grant.inject, plan)
  return plan
}

function decodeName(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw
  const spaced = raw.replaceAll('+', ' ')
  try {
    return decodeURIComponent(spaced)
  } catch {
    // Malformed escapes elsewhere in the name: decode what can be decoded, as lenient servers do.
    return spaced.replace(/%([0-7][0-9A-Fa-f])/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    )
  }
}

/**
 * Appends the injected query parameters to a raw query string (`''` or `?...`), first removing
 * inbound parameters whose (decoded) name is an injected one. Everything else is kept byte for
 * byte, in order.
 *
 * @example
 * ```ts
 * injectQuery('?q=a%20b&api_key=mine', compileInjection(grant)) // '?q=a%20b&api_key=<credential>'
 * ```
 */
export function injectQuery(search: string, plan: InjectionPlan): string {
  if (plan.query === '') return search
  if (search === '' || search === '?') return `?${plan.query}`
  const pairs = search.slice(1).split('&')
  const kept: string[] = []
  let removed = false
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    const name = decodeName(eq === -1 ? pair : pair.slice(0, eq))
    if (plan.queryNames.has(name)) removed = true
    else kept.push(pair)
  }
  if (!removed) return `${search}&${plan.query}`
  return kept.length === 0 ? `?${plan.query}` : `?${kept.join('&')}&${plan.query}`
}

/**
 * Puts a grant's credentials into an outgoing request: sets each injected header (replacing
 * any header of that name, case-insensitively), replaces `Cookie` when the grant injects a
 * cookie, and appends injected query parameters to `url` (replacing inbound ones of the same
 * name; the rest of the query is kept as it was). Mutates `url` and `headers`. Run
 * {@link sanitizeHeaders} on inbound headers first.
 *
 * @example
 * ```ts
 * const url = new URL('https://api.github.com/user')
 * const headers = sanitizeHeaders(request.headers, { grant })
 * injectCredentials(grant, url, headers)
 * await fetch(url, { headers, redirect: 'manual' })
 * ```
 */
export function injectCredentials(grant: Pick<Grant, 'inject'>, url: URL, headers: Headers): void {
  const plan = compileInjection(grant)
  for (const [name, value] of plan.headers) headers.set(name, value)
  if (plan.cookieHeader !== undefined) headers.set('cookie', plan.cookieHeader)
  if (plan.query !== '') url.search = injectQuery(url.search, plan)
}
