import { hasControlChar } from '../policy/header-rules.js'
import type { QueryInjection } from '../types.js'
import { invalidEntry, requireText } from './entry-fields.js'
import type { Injector } from './injector.js'
import { spliceQuery } from './splice-query.js'

/**
 * `{ type: 'query', name, value }`: sets the query parameter, replacing inbound ones of that
 * (decoded) name and keeping the rest of the query byte for byte. No control characters and no
 * unpaired surrogates in either (both are percent-encoded on the way out).
 *
 * @example
 * ```ts
 * queryInjector.apply(request, { type: 'query', name: 'api_key', value: 's3cr3t' }, context)
 * request.url.search // '?q=1&api_key=s3cr3t'
 * ```
 */
export const queryInjector: Injector<QueryInjection> = Object.freeze<Injector<QueryInjection>>({
  type: 'query',
  fields: Object.freeze(['name', 'value']),
  validate(entry: Readonly<Record<string, unknown>>, where: string): void {
    const name = requireText(entry, 'name', where)
    const value = requireText(entry, 'value', where)
    if (hasControlChar(name)) invalidEntry(`${where}.name contains control characters`)
    if (hasControlChar(value)) invalidEntry(`${where}.value contains control characters`)
    try {
      encodeURIComponent(name)
      encodeURIComponent(value)
    } catch {
      invalidEntry(`${where} contains an unpaired surrogate`)
    }
  },
  writesHeaders: () => [],
  // Query names are case-sensitive on the wire, unlike header and cookie names.
  writes: (entry: QueryInjection) => [`query:${entry.name}`],
  needsBody: () => false,
  apply(request, entry) {
    request.url.search = spliceQuery(request.url.search, entry.name, entry.value)
  },
  secrets: (entry: QueryInjection) => [entry.value],
})
