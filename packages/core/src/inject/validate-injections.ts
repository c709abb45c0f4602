import { invalidEntry } from './entry-fields.js'
import { normalizeInjection } from './injection-type.js'
import { builtinInjectors, type InjectorRegistry } from './registry.js'

const BODY_FIELD = 'body field:'

/** Whether one JSON pointer place lies inside the other (`/a/b` in `/a`), either way. */
function nested(a: string, b: string): boolean {
  return a.startsWith(`${b}/`) || b.startsWith(`${a}/`)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Validates a grant's `inject` list through the injectors of `registry`: a non-empty list of
 * objects, each naming a known `type` (or the older `in`) and valid for its injector, and no two
 * entries writing the same header (unless both are of a kind that combines, like cookies) or
 * the same other place (query parameter, cookie name, body field, or a body field inside another). Throws `invalid_grant` with
 * a message that names the field by position (`inject[2].type`) and never a value.
 *
 * @example
 * ```ts
 * assertValidInjections([
 *   { type: 'basic', username: 'bot', password: 's3cr3t' },
 *   { type: 'header', name: 'Authorization', value: 'Bearer x' }, // refused: both write Authorization
 * ])
 * ```
 */
export function assertValidInjections(inject: unknown, registry: InjectorRegistry = builtinInjectors): void {
  if (!Array.isArray(inject) || inject.length === 0)
    invalidEntry('inject must be a non-empty list of credentials')
  const seen = new Map<string, { index: number; type: string; combines: boolean }>()
  for (let i = 0; i < inject.length; i++) {
    const where = `inject[${i}]`
    const raw: unknown = inject[i]
    if (!isRecord(raw)) invalidEntry(`${where} must be an object { type, ... }`)
    const entry = normalizeInjection(raw, where)
    const injector = registry.get(entry.type)
    if (!injector) invalidEntry(`${where}.type is not a credential type this proxy knows`)
    injector.validate(entry, where)
    const combines = injector.combines === true
    const places = [
      ...injector.writesHeaders(entry).map((name) => `header:${name.toLowerCase()}`),
      ...(injector.writes?.(entry) ?? []),
    ]
    for (const place of new Set(places)) {
      const first = seen.get(place)
      if (
        first !== undefined &&
        !(combines && first.combines && first.type === entry.type && place.startsWith('header:'))
      ) {
        const kind = place.slice(0, place.indexOf(':'))
        invalidEntry(`${where} injects the same ${kind} as inject[${first.index}]`)
      }
      if (first === undefined) seen.set(place, { index: i, type: entry.type, combines })
      // A body field inside another one (`/a/b` and `/a`) is the same place too: whichever is
      // set last overwrites the other's secret, or fails on the request.
      if (place.startsWith(BODY_FIELD)) {
        for (const [other, owner] of seen) {
          if (owner.index !== i && other.startsWith(BODY_FIELD) && nested(place, other))
            invalidEntry(`${where} injects inside the same body field as inject[${owner.index}]`)
        }
      }
    }
  }
}
