import type { Injection } from '../types.js'
import { invalidEntry } from './entry-fields.js'
import type { InjectEntry } from './injector.js'
import { builtinInjectors, type InjectorRegistry } from './registry.js'

const LOCATED = new Set(['header', 'query', 'cookie'])

/**
 * The credential type an `inject` entry names: its `type`, or for the first three kinds the older
 * `in` (`{ in: 'header', ... }` from tokens minted before other kinds existed). The one place
 * that reads `in`. Throws `invalid_grant` when neither is a string, or when both are given and
 * differ, or when `in` names a kind that never had it.
 *
 * @example
 * ```ts
 * injectionType({ in: 'query', name: 'key', value: 'v' }) // 'query'
 * injectionType({ type: 'basic', username: 'u', password: 'p' }, 'inject[1]') // 'basic'
 * ```
 */
export function injectionType(entry: Readonly<Record<string, unknown>>, where = 'inject[0]'): string {
  const { type, in: location } = entry
  if (location !== undefined) {
    if (typeof location !== 'string' || !LOCATED.has(location))
      invalidEntry(`${where}.in must be 'header', 'query' or 'cookie'`)
    if (type !== undefined && type !== location) invalidEntry(`${where}.type and ${where}.in disagree`)
    return location
  }
  if (typeof type !== 'string' || type.length === 0) invalidEntry(`${where}.type must be a credential type`)
  return type
}

/**
 * An entry in its current form: `type` instead of the older `in`, nothing else changed. For code
 * that dispatches on `type` (an engine compiling a grant's credentials).
 *
 * @example
 * ```ts
 * normalizeInjection({ in: 'header', name: 'X-Key', value: 'k' })
 * // { type: 'header', name: 'X-Key', value: 'k' }
 * ```
 */
export function normalizeInjection(entry: Readonly<Record<string, unknown>>, where?: string): InjectEntry {
  const type = injectionType(entry, where)
  if (entry.type === type && entry.in === undefined) return entry as InjectEntry
  const { in: _in, ...rest } = entry
  return Object.freeze({ ...rest, type })
}

/**
 * Copies an entry member by member, as `mint` does before validating and encrypting and the
 * opener does after decrypting: `type` (or `in`, kept as written so tokens minted with it stay
 * readable everywhere) and exactly the fields its injector declares; anything else is dropped.
 * Each member is read once, so a getter cannot answer one thing to validation and another to
 * encryption. An unknown type is copied as `{ type }` alone and refused by validation.
 *
 * @example
 * ```ts
 * copyInjection({ type: 'basic', username: 'u', password: 'p', note: 'x' })
 * // { type: 'basic', username: 'u', password: 'p' }
 * ```
 */
export function copyInjection(entry: unknown, registry: InjectorRegistry = builtinInjectors): unknown {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return entry
  const source = entry as Record<string, unknown>
  const copy: Record<string, unknown> = {}
  const location = source.in
  const type = source.type
  if (location !== undefined) copy.in = location
  if (type !== undefined) copy.type = type
  const kind = typeof type === 'string' ? type : typeof location === 'string' ? location : undefined
  const injector = kind === undefined ? undefined : registry.get(kind)
  if (injector) {
    for (const field of injector.fields) {
      const value = source[field]
      if (value !== undefined) copy[field] = value
    }
  }
  return Object.freeze(copy) as Injection
}
