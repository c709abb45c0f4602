import { KeyholeError } from './errors.js'

/** A duration as seconds, or a string such as `'30s'`, `'15m'`, `'1h'`, `'7d'`. */
export type Duration = number | string

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/

/**
 * Converts a {@link Duration} to seconds. Throws `bad_request` for anything else.
 *
 * @example
 * ```ts
 * toSeconds('1h') // 3600
 * toSeconds(90)   // 90
 * ```
 */
export function toSeconds(duration: Duration): number {
  if (typeof duration === 'number') {
    if (Number.isFinite(duration) && duration >= 0) return duration
  } else {
    const match = DURATION.exec(duration.trim())
    if (match) return Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] as number)
  }
  throw new KeyholeError(
    'bad_request',
    'durations are non-negative seconds or strings like "30s", "15m", "1h"',
  )
}
