/**
 * Host normalization shared by host patterns and targets, so both sides of a match go through
 * exactly the same code: the WHATWG URL host parser (lower case, IDN to punycode, IPv4 forms,
 * IPv6 compression), then one trailing dot removed, then a strict label check.
 */

/**
 * True for a host already in the form the WHATWG parser would produce, so the common case skips
 * `new URL`: lower-case labels of `a-z 0-9 - _`, 1 to 63 characters each, at most 253 in all, no
 * `xn--` label (punycode must be validated by the parser), and a last label that the parser
 * would not read as a number (`1.2.3.4`, `0x7f`).
 */
function isSimpleHost(input: string): boolean {
  const length = input.length
  if (length > 253) return false
  let labelStart = 0
  for (let i = 0; i <= length; i++) {
    const code = i < length ? input.charCodeAt(i) : 46
    if (code === 46) {
      const labelLength = i - labelStart
      if (labelLength === 0 || labelLength > 63) return false
      if (
        labelLength >= 4 &&
        input.charCodeAt(labelStart) === 120 &&
        input.charCodeAt(labelStart + 1) === 110 &&
        input.charCodeAt(labelStart + 2) === 45 &&
        input.charCodeAt(labelStart + 3) === 45
      ) {
        return false
      }
      labelStart = i + 1
    } else if (!((code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 45 || code === 95)) {
      return false
    }
  }
  const last = input.lastIndexOf('.') + 1
  let digits = true
  for (let i = last; i < length; i++) {
    const code = input.charCodeAt(i)
    if (code < 48 || code > 57) {
      digits = false
      break
    }
  }
  if (digits) return false
  if (input.charCodeAt(last) === 48 && input.charCodeAt(last + 1) === 120) {
    for (let i = last + 2; i < length; i++) {
      const code = input.charCodeAt(i)
      if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102))) return true
    }
    return false
  }
  return true
}

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
  if (isSimpleHost(input)) return input
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
  let host = parsed.hostname
  if (host.startsWith('[')) return host
  if (host.endsWith('.')) host = host.slice(0, -1)
  if (IPV4.test(host)) return host
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
