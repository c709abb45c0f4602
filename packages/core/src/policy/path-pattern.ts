import { KeyholeError } from '../errors.js'

/**
 * A compiled path pattern: one entry per segment. Literal segments are stored normalized (see
 * {@link normalizeTargetPath}); `'*'` and `'**'` are the wildcards (a literal segment can never be
 * `*`, because a raw `*` inside a literal is refused and `%2A` stays encoded).
 */
export type PathRule = readonly string[]

// pchar (RFC 3986) plus '/', without '%' which is checked separately.
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/
const HEX = /^[0-9A-Fa-f]{2}$/

function invalid(pattern: string, why: string): KeyholeError {
  return new KeyholeError(
    'invalid_grant',
    `invalid path pattern ${JSON.stringify(pattern.slice(0, 200))}: ${why}`,
  )
}

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  )
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 65 && code <= 70) return code - 55
  if (code >= 97 && code <= 102) return code - 87
  return -1
}

/**
 * Normalizes one segment that contains `%` (RFC 3986 §6.2.2): escapes of unreserved characters
 * are decoded, every other escape is kept with upper-case hex. Returns `undefined` for what a
 * restricted grant refuses: malformed escapes, invalid UTF-8 (overlong forms included), a
 * double-encoded `%`, `/`, `\`, `.` or NUL, and whatever {@link decodesSafely} refuses.
 */
function normalizeEscapedSegment(segment: string): string | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(segment)
  } catch {
    return undefined
  }
  if (!decodesSafely(decoded)) return undefined
  let out = ''
  let i = 0
  while (i < segment.length) {
    const code = segment.charCodeAt(i)
    if (code !== 37) {
      out += segment[i]
      i++
      continue
    }
    const hi = hexValue(segment.charCodeAt(i + 1))
    const lo = hexValue(segment.charCodeAt(i + 2))
    if (hi < 0 || lo < 0) return undefined
    const byte = hi * 16 + lo
    if (byte === 0x2f || byte === 0x5c || byte === 0x00) return undefined
    if (byte === 0x25) {
      const h2 = hexValue(segment.charCodeAt(i + 3))
      const l2 = hexValue(segment.charCodeAt(i + 4))
      if (h2 >= 0 && l2 >= 0) {
        const inner = h2 * 16 + l2
        if (inner === 0x2e || inner === 0x2f || inner === 0x5c || inner === 0x00 || inner === 0x25)
          return undefined
      }
    }
    out += isUnreserved(byte)
      ? String.fromCharCode(byte)
      : `%${segment[i + 1]}${segment[i + 2]}`.toUpperCase()
    i += 3
  }
  return out
}

// What a decoded segment may never hold: a `/` (it was encoded), `\`, `?`, `#`, and C0, DEL
// and C1 control characters (NUL included).
const DECODED_UNSAFE = /[\x00-\x1f\x7f-\x9f/\\?#]/
// Raw in a target path: `\`, and what parseTarget never leaves there (it splits off `?` and
// `#`, refuses controls and encodes non-ASCII) but a caller passing its own path might.
const RAW_UNSAFE = /[\x00-\x1f\x7f-\x9f\\?#]/
const ESCAPE = /%[0-9A-Fa-f]{2}/
const LONE_PERCENT = /%(?![0-9A-Fa-f]{2})/g

/**
 * Checks a once-decoded segment and every further decoding of it, until no escape is left: an
 * upstream, or a framework in front of it, may decode a path a second (or third) time, so
 * `%252e%252e`, `%25%32%65` and `..%253F` must be judged by what they finally become. Refused at
 * any depth: dot-segments, `/`, `\`, `?`, `#`, control characters, and invalid UTF-8 (a lenient
 * decoder might turn an overlong `%c0%ae` into `.`). A `%` not followed by two hex digits is
 * taken literally, as decoders that do not throw take it. Terminates: each round with an escape
 * in it makes the string at least two characters shorter.
 */
function decodesSafely(decoded: string): boolean {
  for (;;) {
    if (DECODED_UNSAFE.test(decoded) || isDotSegment(decoded, 0, decoded.length)) return false
    if (!ESCAPE.test(decoded)) return true
    try {
      decoded = decodeURIComponent(decoded.replace(LONE_PERCENT, '%25'))
    } catch {
      return false
    }
  }
}

/** `.` or `..`, also when followed by a `;` parameter (servers such as Tomcat strip it). */
function isDotSegment(path: string, start: number, end: number): boolean {
  const semi = path.indexOf(';', start)
  if (semi !== -1 && semi < end) end = semi
  const length = end - start
  if (length === 1) return path.charCodeAt(start) === 46
  if (length === 2) return path.charCodeAt(start) === 46 && path.charCodeAt(start + 1) === 46
  return false
}

/**
 * Normalizes a target path for matching against restricted path patterns, or returns
 * `undefined` when a restricted grant must refuse it.
 *
 * Matching is on RFC 3986 normalized segments: percent-escapes of unreserved characters
 * (`A-Z a-z 0-9 - . _ ~`) are decoded and every other escape is compared with upper-case hex, so
 * `/repos/%61cme` equals `/repos/acme` but `/a%2Cb` never equals `/a,b`. Refused: raw `\`, `?`,
 * `#` or control characters, malformed escapes, and any path that, decoded repeatedly until no
 * escape is left, holds a dot-segment (`.`, `..`, `%2e`, `%252e%252e`, `..;x`), a `/` that was
 * encoded (`%2f`, `%252f`), `\`, `?`, `#` (`..%3F`, `..%23`), NUL or another control character
 * (`%00`, `%25%30%30`), or invalid UTF-8; also double-encoded `%` (`%2525`). Allocates only when
 * the path contains `%`.
 *
 * @example
 * ```ts
 * normalizeTargetPath('/repos/%61cme/x') // '/repos/acme/x'
 * normalizeTargetPath('/repos/acme/../x') // undefined
 * normalizeTargetPath('/repos/acme/%252e%252e/x') // undefined
 * ```
 */
export function normalizeTargetPath(path: string): string | undefined {
  if (path.charCodeAt(0) !== 47 || RAW_UNSAFE.test(path)) return undefined
  const escaped = path.includes('%')
  let out = escaped ? '' : path
  let start = 1
  for (;;) {
    let end = path.indexOf('/', start)
    if (end === -1) end = path.length
    if (escaped) {
      const segment = path.slice(start, end)
      if (segment.includes('%')) {
        const normalized = normalizeEscapedSegment(segment)
        if (normalized === undefined) return undefined
        out += `/${normalized}`
      } else {
        if (isDotSegment(path, start, end)) return undefined
        out += `/${segment}`
      }
    } else if (isDotSegment(path, start, end)) {
      return undefined
    }
    if (end === path.length) return out
    start = end + 1
  }
}

/**
 * Parses a path pattern.
 *
 * Syntax: starts with `/`; segments separated by `/`; a segment is a literal (RFC 3986 pchars,
 * percent-escapes allowed), `*` (exactly one non-empty segment) or `**` (one or more segments of
 * any content, only as the last segment: `/a/**` matches `/a/b` and `/a/b/c` and `/a/`, never
 * `/a`). `*` inside a literal (`/a*`) is refused. Empty segments are refused except a trailing
 * one (`/a/` is a distinct path from `/a`). No query, fragment or raw non-ASCII (percent-encode
 * it as UTF-8), and nothing {@link normalizeTargetPath} would refuse in a target (dot-segments,
 * encoded `/`, `\`, `?`, `#`, NUL or control characters, at any depth of encoding): such a
 * pattern could never match.
 *
 * @throws KeyholeError `invalid_grant`
 * @example
 * ```ts
 * parsePathPattern('/repos/acme/**') // ['repos', 'acme', '**']
 * ```
 */
export function parsePathPattern(pattern: string): PathRule {
  if (typeof pattern !== 'string') throw new KeyholeError('invalid_grant', 'path pattern must be a string')
  if (!pattern.startsWith('/')) throw invalid(pattern, 'must start with /')
  if (!PATH_CHARS.test(pattern)) {
    throw invalid(
      pattern,
      'only URL path characters are allowed (no query, fragment, backslash, spaces or raw non-ASCII)',
    )
  }
  const raw = pattern.slice(1).split('/')
  const segments: string[] = []
  for (let i = 0; i < raw.length; i++) {
    const segment = raw[i]!
    const last = i === raw.length - 1
    if (segment === '**') {
      if (!last) throw invalid(pattern, '** is only allowed as the last segment')
      segments.push('**')
      continue
    }
    if (segment === '*') {
      segments.push('*')
      continue
    }
    if (segment.includes('*'))
      throw invalid(pattern, '* must be a whole segment; write %2A for a literal asterisk')
    if (segment === '' && !last) throw invalid(pattern, 'empty segments (//) are not allowed')
    let normalized = segment
    if (segment.includes('%')) {
      for (let j = segment.indexOf('%'); j !== -1; j = segment.indexOf('%', j + 1)) {
        if (!HEX.test(segment.slice(j + 1, j + 3))) throw invalid(pattern, 'malformed percent-escape')
      }
      const result = normalizeEscapedSegment(segment)
      if (result === undefined) {
        throw invalid(
          pattern,
          'dot-segments, encoded slashes, backslashes, ?, # or control characters (in any depth of encoding) and invalid UTF-8 are not allowed',
        )
      }
      normalized = result
    } else if (isDotSegment(segment, 0, segment.length)) {
      throw invalid(pattern, 'dot-segments (. and ..) are not allowed')
    }
    segments.push(normalized)
  }
  return segments
}

/**
 * Matches a normalized path (from {@link normalizeTargetPath}) against a compiled pattern,
 * without allocating.
 *
 * @example
 * ```ts
 * matchPath(parsePathPattern('/repos/*'), '/repos/app') // true
 * matchPath(parsePathPattern('/repos/*'), '/repos/app/issues') // false
 * ```
 */
export function matchPath(rule: PathRule, path: string): boolean {
  let start = 1
  for (let i = 0; i < rule.length; i++) {
    const segment = rule[i]!
    // We stand just after a '/', so at least one (possibly empty) segment remains.
    if (segment === '**') return true
    let end = path.indexOf('/', start)
    const last = end === -1
    if (last) end = path.length
    if (segment === '*') {
      if (end === start) return false
    } else if (end - start !== segment.length || !path.startsWith(segment, start)) {
      return false
    }
    if (i === rule.length - 1) return last
    if (last) return false
    start = end + 1
  }
  return false
}
