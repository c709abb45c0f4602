import type { ProxyEvent } from '@keyhole/core'

// What JSON.stringify leaves raw but a log line must not hold: DEL and the C1 controls (U+0085
// breaks lines in some viewers), the Unicode line and paragraph separators, and the bidi marks,
// embeddings, overrides and isolates that make a terminal show text in another order than it has
// (a path could appear to end in a different host or status).
const UNSAFE_FOR_LOGS = /[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/**
 * A log field: printable ASCII without spaces or quotes goes out as is; anything else is
 * JSON-quoted with every control character (C0, DEL, C1), U+2028, U+2029 and bidi control
 * escaped as `\uXXXX` (still valid JSON), so a path or a subject can never forge a second log
 * line, split a field, or reorder what a terminal shows.
 *
 * @example
 * ```ts
 * field('ci-job') // ci-job
 * field('a b\n') // "a b\n"
 * field('x\u202e') // "x\u202e"
 * ```
 */
export function field(value: string): string {
  return /^[\x21\x23-\x7e]+$/.test(value)
    ? value
    : JSON.stringify(value).replace(UNSAFE_FOR_LOGS, unicodeEscape)
}

/** The host as a URL authority shows it: IPv6 in brackets, whether or not the event has them. */
function authorityHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

/**
 * Formats one proxied request as one log line. Uses only the event's fields, which the engine
 * guarantees hold no token, credential, header or query value; every string that came from a
 * token or a request (method, target, `jti`, `sub`) goes through {@link field}.
 *
 * @example
 * ```ts
 * formatEvent(event, new Date())
 * // 2026-01-01T12:00:00.000Z 200 ok GET https://api.github.com:443/user jti=3q2-7w sub=ci cache=hit 41.2ms
 * ```
 */
export function formatEvent(event: ProxyEvent, at: Date): string {
  const target =
    event.host === undefined
      ? '-'
      : `${event.scheme ?? '?'}://${authorityHost(event.host)}:${event.port ?? '?'}${event.path ?? ''}`
  const parts = [at.toISOString(), String(event.status), event.outcome, field(event.method), field(target)]
  if (event.jti !== undefined) parts.push(`jti=${field(event.jti)}`)
  if (event.sub !== undefined) parts.push(`sub=${field(event.sub)}`)
  // A layer's own sub is the holder's label: the issuer-signed one stays on the line.
  if (event.signedSub !== undefined)
    parts.push(`signed-sub=${event.signedSub === null ? '-' : field(event.signedSub)}`)
  // Why a token was refused (unsigned, unknown_issuer, issuer_scope, ...): a fixed word, no value.
  if (event.reason !== undefined) parts.push(`reason=${field(event.reason)}`)
  if (event.cacheHit !== undefined) parts.push(`cache=${event.cacheHit ? 'hit' : 'miss'}`)
  parts.push(`${event.timings.total.toFixed(1)}ms`)
  return parts.join(' ')
}
