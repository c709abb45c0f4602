import { usageError } from './cli-error.js'

/** What `--scrub` sets: the engine's `scrub` option. */
export type ScrubMode = boolean | 'headers'

/**
 * Parses `--scrub on|headers|off` (default `on`) into the engine's `scrub` option: `true` masks
 * echoed secrets in response headers and bodies, `'headers'` in headers only, `false` nowhere.
 *
 * @example
 * ```ts
 * parseScrub(undefined) // true
 * parseScrub('headers') // 'headers'
 * ```
 */
export function parseScrub(value: string | undefined): ScrubMode {
  switch (value ?? 'on') {
    case 'on':
      return true
    case 'headers':
      return 'headers'
    case 'off':
      return false
    default:
      throw usageError('--scrub must be on, headers or off')
  }
}

/** The warning for an operator who turned scrubbing (partly) off, or `undefined` when it is on. */
export function scrubWarning(mode: ScrubMode): string | undefined {
  if (mode === true) return undefined
  return mode === 'headers'
    ? 'warning: --scrub headers: an upstream that echoes a credential in a response body passes it to the caller\n'
    : 'warning: --scrub off: an upstream that echoes a credential passes it to the caller\n'
}
