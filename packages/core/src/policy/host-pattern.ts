import { KeyholeError } from '../errors.js'
import { isIPv4, normalizeHost } from './normalize-host.js'

/** A compiled host pattern. `host` is the normalized name, or the base domain of a wildcard. */
export interface HostRule {
  readonly scheme: 'http' | 'https'
  readonly port: number
  readonly host: string
  /** True for `*.example.com`: any name below `host`, at any depth, never `host` itself. */
  readonly wildcard: boolean
}

/** The minimal shape {@link matchHost} needs from a target. */
export interface HostTarget {
  readonly scheme: string
  readonly host: string
  readonly port: number
}

const PORT = /^[0-9]{1,5}$/
const FORBIDDEN = /[\s\x00-\x1f\x7f/?#@\\%]/

function invalid(pattern: string, why: string): KeyholeError {
  return new KeyholeError(
    'invalid_grant',
    `invalid host pattern ${JSON.stringify(pattern.slice(0, 200))}: ${why}`,
  )
}

/**
 * Parses and normalizes a host pattern.
 *
 * Syntax: `[http:// | https://] host [:port]` where host is a DNS name (`api.example.com`, IDN
 * allowed and converted to punycode), `*.` followed by a DNS name of at least two labels
 * (`*.example.com`: any subdomain at any depth, never the bare domain), an IPv4 literal in
 * dotted-decimal form, or a bracketed IPv6 literal. Without a scheme the pattern means HTTPS;
 * `http://` allows plain HTTP and only plain HTTP. The port defaults to the scheme's (443 or 80),
 * and scheme and port are both locked. No path, query, userinfo or percent-encoding.
 *
 * @throws KeyholeError `invalid_grant`
 * @example
 * ```ts
 * parseHostPattern('*.Example.com:8443')
 * // { scheme: 'https', port: 8443, host: 'example.com', wildcard: true }
 * ```
 */
export function parseHostPattern(pattern: string): HostRule {
  if (typeof pattern !== 'string') throw new KeyholeError('invalid_grant', 'host pattern must be a string')
  if (pattern.length === 0) throw invalid(pattern, 'empty')
  let rest = pattern
  let scheme: 'http' | 'https' = 'https'
  const lower = pattern.slice(0, 8).toLowerCase()
  if (lower.startsWith('http://')) {
    scheme = 'http'
    rest = pattern.slice(7)
  } else if (lower.startsWith('https://')) {
    rest = pattern.slice(8)
  } else if (pattern.includes('://')) {
    throw invalid(pattern, 'only http:// and https:// may prefix a host pattern')
  }
  if (FORBIDDEN.test(rest)) {
    throw invalid(
      pattern,
      'a host pattern is a host name with an optional port: no path, query, userinfo or escapes',
    )
  }
  let hostPart = rest
  let portPart: string | undefined
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']')
    if (close === -1) throw invalid(pattern, 'unterminated IPv6 literal')
    hostPart = rest.slice(0, close + 1)
    const after = rest.slice(close + 1)
    if (after !== '') {
      if (!after.startsWith(':')) throw invalid(pattern, 'unexpected characters after the IPv6 literal')
      portPart = after.slice(1)
    }
  } else {
    const colon = rest.indexOf(':')
    if (colon !== -1) {
      hostPart = rest.slice(0, colon)
      portPart = rest.slice(colon + 1)
    }
  }
  let port = scheme === 'https' ? 443 : 80
  if (portPart !== undefined) {
    if (!PORT.test(portPart)) throw invalid(pattern, 'the port must be a decimal number')
    port = Number(portPart)
    if (port < 1 || port > 65535) throw invalid(pattern, 'the port must be between 1 and 65535')
  }
  let wildcard = false
  if (hostPart.startsWith('*.')) {
    wildcard = true
    hostPart = hostPart.slice(2)
  }
  if (hostPart.includes('*')) {
    throw invalid(pattern, 'a wildcard is only allowed as the whole first label (*.example.com)')
  }
  const host = normalizeHost(hostPart)
  if (host === undefined) throw invalid(pattern, 'not a valid host name or IP literal')
  if (wildcard) {
    if (host.startsWith('[') || isIPv4(host))
      throw invalid(pattern, 'a wildcard cannot apply to an IP literal')
    if (!host.includes('.')) throw invalid(pattern, 'a wildcard needs a base domain of at least two labels')
  } else if (isIPv4(host)) {
    // Only the canonical dotted-decimal form, so a pattern reads as what it allows (no 127.1, no
    // 0x7f.0.0.1, no trailing dot: the private-address rule compares IP literals as written).
    if (hostPart !== host) throw invalid(pattern, 'write IPv4 literals in canonical dotted-decimal form')
  }
  return { scheme, port, host, wildcard }
}

/**
 * True when the (already normalized) target is allowed by the rule: same scheme, same port, and
 * the same host, or for a wildcard any name strictly below the base domain.
 *
 * @example
 * ```ts
 * const rule = parseHostPattern('*.example.com')
 * matchHost(rule, { scheme: 'https', host: 'a.b.example.com', port: 443 }) // true
 * matchHost(rule, { scheme: 'https', host: 'example.com', port: 443 }) // false
 * ```
 */
export function matchHost(rule: HostRule, target: HostTarget): boolean {
  if (rule.port !== target.port || rule.scheme !== target.scheme) return false
  const host = target.host
  if (!rule.wildcard) return host === rule.host
  const base = rule.host
  return (
    host.length > base.length + 1 &&
    host.endsWith(base) &&
    host.charCodeAt(host.length - base.length - 1) === 46
  )
}
