import type { HostRule } from './host-pattern.js'

/**
 * Whether every target `inner` matches is also matched by `outer`: same scheme and port (both are
 * locked), and a name `outer` covers — itself when `outer` is exact; any name strictly below
 * `outer.host` (a wildcard among them) when `outer` is a wildcard. Used to keep an issuer inside
 * its scope and an attenuation layer inside the layer it narrows.
 *
 * @example
 * ```ts
 * hostRuleCovers(parseHostPattern('*.example.com'), parseHostPattern('*.api.example.com')) // true
 * hostRuleCovers(parseHostPattern('*.example.com'), parseHostPattern('example.com'))       // false
 * ```
 */
export function hostRuleCovers(outer: HostRule, inner: HostRule): boolean {
  if (outer.scheme !== inner.scheme || outer.port !== inner.port) return false
  if (!outer.wildcard) return !inner.wildcard && inner.host === outer.host
  if (inner.wildcard && inner.host === outer.host) return true
  return inner.host.endsWith(`.${outer.host}`)
}
