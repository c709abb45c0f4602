import type { ProxyEvent } from '@keyhole/core'

/**
 * A log field: printable ASCII without spaces or quotes goes out as is; anything else is JSON-quoted, so a
 * path or a subject can never forge a second log line or split a field.
 *
 * @example
 * ```ts
 * field('ci-job') // ci-job
 * field('a b\n') // "a b\n"
 * ```
 */
export function field(value: string): string {
  return /^[\x21\x23-\x7e]+$/.test(value) ? value : JSON.stringify(value)
}

/**
 * Formats one proxied request as one log line. Uses only the event's fields, which the engine
 * guarantees hold no token, credential, header or query value.
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
      : `${event.scheme ?? '?'}://${event.host.includes(':') ? `[${event.host}]` : event.host}:${event.port ?? '?'}${event.path ?? ''}`
  const parts = [at.toISOString(), String(event.status), event.outcome, field(event.method), field(target)]
  if (event.jti !== undefined) parts.push(`jti=${field(event.jti)}`)
  if (event.sub !== undefined) parts.push(`sub=${field(event.sub)}`)
  if (event.cacheHit !== undefined) parts.push(`cache=${event.cacheHit ? 'hit' : 'miss'}`)
  parts.push(`${event.timings.total.toFixed(1)}ms`)
  return parts.join(' ')
}
