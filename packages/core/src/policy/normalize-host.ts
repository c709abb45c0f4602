/**
 * Host normalization shared by host patterns and targets, so both sides of a match go through
 * exactly the same code: the WHATWG URL host parser (lower case, IDN to punycode, IPv4 forms,
 * IPv6 compression), then one trailing dot removed, then a strict label check.
 */

// Lower-case LDH(+underscore) names whose last label cannot be read as a number are already in
// the form the WHATWG parser would produce, so the common case skips `new URL` entirely.
const SIMPLE_HOST = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/
const NUMERIC_LAST_LABEL = /(?:^|\.)(?:[0-9]+|0x[0-9a-f]*)$/
const IPV4 = /^(?:[0-9]{1,3}\.){3}[0-9]{1,3}$/
// Characters that would change how the URL parser splits an authority; never part of a host.
const NOT_IN_HOST = /[/?#@\\%\s\x00-\x1f\x7f]/

/** True for a normalized IPv4 literal (`1.2.3.4`). */
export function isIPv4(host: string): boolean {
  return IPV4.test(host)
}

/**
 * Normalizes the host part of an authority (no port, no userinfo): `API.Example.COM.` →
 * `api.example.com`, `bücher.de` → `xn--bcher-kva.de`, `[::FFFF:1.2.3.4]` → `[::ffff:102:304]`,
 * `127.1` → `127.0.0.1`. Returns `undefined` for anything that is not a valid host name or IP
 * literal: empty labels, labels over 63 characters, names over 253 characters, characters other
 * than letters, digits, `-` and `_` after IDN conversion (so `*` is never part of a host).
 *
 * @example
 * ```ts
 * normalizeHost('API.Example.com.') // 'api.example.com'
 * normalizeHost('a..b.com') // undefined
 * ```
 */
export function normalizeHost(input: string): string | undefined {
  if (input.length === 0 || input.length > 1024) return undefined
  let host: string
  if (SIMPLE_HOST.test(input) && !NUMERIC_LAST_LABEL.test(input) && !input.includes('xn--')) {
    host = input
  } else {
    if (NOT_IN_HOST.test(input)) return undefined
    // A colon is only legal inside an IPv6 literal; anything else would be read as a port.
    if (input.includes(':') && !(input.startsWith('[') && input.endsWith(']'))) return undefined
    let parsed: URL
    try {
      parsed = new URL(`https://${input}/`)
    } catch {
      return undefined
    }
    if (parsed.port !== '' || parsed.pathname !== '/' || parsed.username !== '' || parsed.password !== '') {
      return undefined
    }
    host = parsed.hostname
    if (host.startsWith('[')) return host
    if (host.endsWith('.')) host = host.slice(0, -1)
    if (IPV4.test(host)) return host
  }
  if (host.length === 0 || host.length > 253) return undefined
  let start = 0
  while (start <= host.length) {
    let end = host.indexOf('.', start)
    if (end === -1) end = host.length
    if (end === start || end - start > 63) return undefined
    start = end + 1
  }
  if (!/^[a-z0-9_.-]+$/.test(host)) return undefined
  return host
}
