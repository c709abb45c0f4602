import { hostRuleCovers } from './host-cover.js'
import { type HostRule, parseHostPattern } from './host-pattern.js'
import { parseTarget, type Target } from './target.js'

/**
 * The host pattern naming exactly a target's scheme, host and port (`api.example.com:443`,
 * `http://10.0.0.5:8080`), as a grant would write it.
 *
 * @example
 * ```ts
 * targetHostPattern(parseTarget('http://10.0.0.5:8080/x')) // 'http://10.0.0.5:8080'
 * ```
 */
export function targetHostPattern(target: Target): string {
  return `${target.scheme === 'http' ? 'http://' : ''}${target.host}:${target.port}`
}

/**
 * Whether an issuer's scope covers a URL's scheme, host and port: what an issuer may name as a
 * side endpoint (an OAuth2 token URL), as it may name hosts. A URL that does not parse as a
 * target is not covered.
 *
 * @example
 * ```ts
 * scopeCoversUrl([parseHostPattern('*.example.com')], 'https://auth.example.com/token') // true
 * ```
 */
export function scopeCoversUrl(scope: readonly HostRule[], url: string): boolean {
  let rule: HostRule
  try {
    rule = parseHostPattern(targetHostPattern(parseTarget(url)))
  } catch {
    return false
  }
  return scope.some((allowed) => hostRuleCovers(allowed, rule))
}
