import type { Grant } from '../types.js'

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
  /** Every credential value, so error paths can make sure none of them is echoed. */
  readonly secrets: readonly string[]
}

// Grants are frozen and handed out by the opener's cache, so one compilation serves every
// request that uses the same token.
const plans = new WeakMap<Pick<Grant, 'inject'>, InjectionPlan>()
const NO_NAMES: ReadonlySet<string> = new Set()

/**
 * Compiles (and caches per grant object) where the grant's credentials go.
 *
 * @example
 * ```ts
 * const plan = compileInjection(grant)
 * plan.headerNames.has('authorization')
 * ```
 */
export function compileInjection(grant: Pick<Grant, 'inject'>): InjectionPlan {
  let plan = plans.get(grant)
  if (plan) return plan
  const headers = new Map<string, [string, string]>()
  const query: string[] = []
  const queryNames = new Set<string>()
  const cookies: string[] = []
  for (const rule of grant.inject) {
    if (rule.in === 'header') {
      const lower = rule.name.toLowerCase()
      const existing = headers.get(lower)
      if (existing) existing[1] = `${existing[1]}, ${rule.value}`
      else headers.set(lower, [rule.name, rule.value])
    } else if (rule.in === 'query') {
      queryNames.add(rule.name)
      query.push(`${encodeURIComponent(rule.name)}=${encodeURIComponent(rule.value)}`)
    } else if (rule.in === 'cookie') {
      cookies.push(`${rule.name}=${rule.value}`)
    }
  }
  plan = Object.freeze({
    headers: [...headers.values()],
    headerNames: new Set(headers.keys()),
    query: query.join('&'),
    // Plans live as long as their grant in the opener's cache: no spare capacity, no empty Sets.
    queryNames: queryNames.size > 0 ? queryNames : NO_NAMES,
    cookie: cookies.length > 0,
    cookieHeader: cookies.length > 0 ? cookies.join('; ') : undefined,
    secrets: grant.inject.map((rule) => rule.value),
  })
  plans.set(grant, plan)
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
