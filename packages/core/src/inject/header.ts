import { isForbiddenInjectHeader, isHeaderValue, isToken } from '../policy/header-rules.js'
import type { HeaderInjection } from '../types.js'
import { invalidEntry, requireText } from './entry-fields.js'
import type { Injector } from './injector.js'

// `<scheme> <credential>`: an auth-scheme token, one or more spaces, then the credential.
const SCHEME_VALUE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ +(\S.*)$/

/**
 * The secrets of a header value: the whole value and, for a value of the form
 * `<scheme> <credential>` (`Bearer abc`, `token ghp_...`), the credential alone — an upstream
 * echoing only the credential must be masked too.
 *
 * @example
 * ```ts
 * headerValueSecrets('Bearer abc') // ['Bearer abc', 'abc']
 * headerValueSecrets('abc') // ['abc']
 * ```
 */
export function headerValueSecrets(value: string): readonly string[] {
  const credential = SCHEME_VALUE.exec(value)?.[1]
  return credential === undefined ? [value] : [value, credential]
}

/**
 * `{ type: 'header', name, value }`: sets the header, replacing any header of that name
 * (case-insensitive). Names are RFC 9110 tokens that keyhole may inject (no hop-by-hop, framing,
 * `Cookie`, `Forwarded`, `X-Forwarded-*` or `X-Keyhole-*`); values are visible ASCII or obs-text
 * with spaces and tabs only inside.
 *
 * @example
 * ```ts
 * headerInjector.apply(request, { type: 'header', name: 'Authorization', value: 'Bearer ghp_x' }, context)
 * headerInjector.secrets({ type: 'header', name: 'Authorization', value: 'Bearer ghp_x' })
 * // ['Bearer ghp_x', 'ghp_x']
 * ```
 */
export const headerInjector: Injector<HeaderInjection> = Object.freeze<Injector<HeaderInjection>>({
  type: 'header',
  fields: Object.freeze(['name', 'value']),
  validate(entry: Readonly<Record<string, unknown>>, where: string): void {
    const name = requireText(entry, 'name', where)
    const value = requireText(entry, 'value', where)
    if (!isToken(name)) invalidEntry(`${where}.name is not a valid header name`)
    if (isForbiddenInjectHeader(name)) invalidEntry(`${where}.name is a header keyhole may not inject`)
    if (!isHeaderValue(value)) {
      invalidEntry(
        `${where}.value must be visible ASCII or obs-text, spaces and tabs only inside, no control characters`,
      )
    }
  },
  writesHeaders: (entry: HeaderInjection) => [entry.name.toLowerCase()],
  needsBody: () => false,
  apply(request, entry) {
    request.headers.set(entry.name, entry.value)
  },
  secrets: (entry: HeaderInjection) => headerValueSecrets(entry.value),
})
