/**
 * Host-pattern matching for routing, with the same rules as @keyhole/core (which this package
 * must not import): scheme and port locked, `*.example.com` matches any depth below the base but
 * never the base, names compared after WHATWG normalization (case, trailing dot, IDN).
 */

/** A parsed host pattern. `host` is the normalized name or, for a wildcard, the base domain. */
export interface HostPattern {
  readonly scheme: 'http:' | 'https:'
  readonly port: number
  readonly host: string
  readonly wildcard: boolean
  /** Higher is more specific: exact names beat wildcards, deeper wildcards beat shallower ones. */
  readonly specificity: number
}

const PORT = /^[0-9]{1,5}$/
const FORBIDDEN = /[\s\x00-\x1f\x7f/?#@\\%]/
const HOST_CHARS = /^[a-z0-9_.-]+$/
const IPV4 = /^(?:[0-9]{1,3}\.){3}[0-9]{1,3}$/

function normalizeName(input: string): string | undefined {
  if (input === '' || FORBIDDEN.test(input)) return undefined
  if (input.includes(':') && !(input.startsWith('[') && input.endsWith(']'))) return undefined
  let host: string
  try {
    const url = new URL(`https://${input}/`)
    if (url.port !== '' || url.pathname !== '/') return undefined
    host = url.hostname
  } catch {
    return undefined
  }
  if (host.startsWith('[')) return host
  if (host.endsWith('.')) host = host.slice(0, -1)
  if (!validName(host)) return undefined
  return host
}

function validName(host: string): boolean {
  if (host.length === 0 || host.length > 253 || !HOST_CHARS.test(host)) return false
  for (const label of host.split('.')) if (label.length === 0 || label.length > 63) return false
  return true
}

/**
 * Parses a host pattern, or returns `undefined` when it is not one (such a pattern never matches).
 *
 * @example
 * ```ts
 * parseHostPattern('*.example.com:8443') // { scheme: 'https:', port: 8443, host: 'example.com', wildcard: true, ... }
 * ```
 */
export function parseHostPattern(pattern: string): HostPattern | undefined {
  if (typeof pattern !== 'string') return undefined
  let rest = pattern
  let scheme: 'http:' | 'https:' = 'https:'
  const prefix = pattern.slice(0, 8).toLowerCase()
  if (prefix.startsWith('http://')) {
    scheme = 'http:'
    rest = pattern.slice(7)
  } else if (prefix.startsWith('https://')) {
    rest = pattern.slice(8)
  }
  let hostPart = rest
  let port = scheme === 'https:' ? 443 : 80
  const portAt = rest.startsWith('[') ? rest.indexOf(':', rest.indexOf(']')) : rest.indexOf(':')
  if (portAt !== -1) {
    hostPart = rest.slice(0, portAt)
    const digits = rest.slice(portAt + 1)
    if (!PORT.test(digits)) return undefined
    port = Number(digits)
    if (port < 1 || port > 65535) return undefined
  }
  const wildcard = hostPart.startsWith('*.')
  if (wildcard) hostPart = hostPart.slice(2)
  if (hostPart.includes('*')) return undefined
  const host = normalizeName(hostPart)
  if (host === undefined) return undefined
  const ip = host.startsWith('[') || IPV4.test(host)
  if (wildcard && (ip || !host.includes('.'))) return undefined
  const specificity = wildcard ? host.split('.').length : 1000
  return { scheme, port, host, wildcard, specificity }
}

/** The parts of a URL that host matching looks at, normalized; `undefined` for URLs never proxied. */
export interface UrlTarget {
  readonly scheme: 'http:' | 'https:'
  readonly host: string
  readonly port: number
}

/**
 * Reads scheme, normalized host and effective port from a URL (WHATWG-parsed already).
 * Returns `undefined` for non-http(s) URLs and hosts that are not valid names or IP literals.
 *
 * @example
 * ```ts
 * urlTarget(new URL('https://API.example.com./x')) // { scheme: 'https:', host: 'api.example.com', port: 443 }
 * ```
 */
export function urlTarget(url: URL): UrlTarget | undefined {
  const scheme = url.protocol
  if (scheme !== 'https:' && scheme !== 'http:') return undefined
  let host = url.hostname
  if (!host.startsWith('[')) {
    if (host.endsWith('.')) host = host.slice(0, -1)
    if (!validName(host)) return undefined
  }
  const port = url.port === '' ? (scheme === 'https:' ? 443 : 80) : Number(url.port)
  return { scheme, host, port }
}

/**
 * How specifically a pattern matches a target: 0 when it does not match, otherwise
 * {@link HostPattern.specificity}.
 *
 * @example
 * ```ts
 * matchHost(parseHostPattern('*.example.com')!, urlTarget(new URL('https://a.example.com'))!) // 2
 * ```
 */
export function matchHost(pattern: HostPattern, target: UrlTarget): number {
  if (pattern.scheme !== target.scheme || pattern.port !== target.port) return 0
  const host = target.host
  if (!pattern.wildcard) return host === pattern.host ? pattern.specificity : 0
  const base = pattern.host
  const below =
    host.length > base.length + 1 &&
    host.endsWith(base) &&
    host.charCodeAt(host.length - base.length - 1) === 46
  return below ? pattern.specificity : 0
}
