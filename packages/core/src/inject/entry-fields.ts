import { KeyholeError } from '../errors.js'
import { hasCrLfNul } from '../policy/header-rules.js'

/**
 * Throws `invalid_grant`. Messages name the field by position and never contain what the caller
 * wrote: a value pasted into the wrong field is still a secret.
 *
 * @example
 * ```ts
 * invalidEntry('inject[0].key must be a non-empty string')
 * ```
 */
export function invalidEntry(message: string): never {
  throw new KeyholeError('invalid_grant', message)
}

/**
 * Reads a required string field: non-empty, no CR, LF or NUL (refused in every string of a grant).
 *
 * @example
 * ```ts
 * const key = requireText(entry, 'key', 'inject[0]')
 * ```
 */
export function requireText(entry: Readonly<Record<string, unknown>>, field: string, where: string): string {
  const value = entry[field]
  if (typeof value !== 'string' || value.length === 0)
    invalidEntry(`${where}.${field} must be a non-empty string`)
  if (hasCrLfNul(value)) invalidEntry(`${where}.${field} contains CR, LF or NUL`)
  return value
}

/**
 * Reads an optional string field: absent, or as {@link requireText} says.
 *
 * @example
 * ```ts
 * const scope = optionalText(entry, 'scope', 'inject[0]')
 * ```
 */
export function optionalText(
  entry: Readonly<Record<string, unknown>>,
  field: string,
  where: string,
): string | undefined {
  return entry[field] === undefined ? undefined : requireText(entry, field, where)
}

/**
 * Reads an optional field that must be one of a few words.
 *
 * @example
 * ```ts
 * const algorithm = optionalChoice(entry, 'algorithm', where, ['sha256', 'sha512'])
 * ```
 */
export function optionalChoice<T extends string>(
  entry: Readonly<Record<string, unknown>>,
  field: string,
  where: string,
  choices: readonly T[],
): T | undefined {
  const value = entry[field]
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value))
    invalidEntry(`${where}.${field} must be ${choices.map((c) => `'${c}'`).join(' or ')}`)
  return value as T
}
