import { isCookieValue, isToken } from '../policy/header-rules.js'
import type { CookieInjection } from '../types.js'
import { invalidEntry, requireText } from './entry-fields.js'
import type { Injector } from './injector.js'

/**
 * `{ type: 'cookie', name, value }`: adds `name=value` to the `Cookie` header. The engine drops
 * the inbound `Cookie` (the sandbox's cookies could shadow the credential), so the header holds
 * exactly the grant's cookies, `a=1; b=2` in entry order. Names are tokens, values cookie-octets,
 * optionally double-quoted (RFC 6265).
 *
 * @example
 * ```ts
 * cookieInjector.apply(request, { type: 'cookie', name: 'session', value: 'abc' }, context)
 * request.headers.get('cookie') // 'session=abc'
 * ```
 */
export const cookieInjector: Injector<CookieInjection> = Object.freeze<Injector<CookieInjection>>({
  type: 'cookie',
  fields: Object.freeze(['name', 'value']),
  combines: true,
  validate(entry: Readonly<Record<string, unknown>>, where: string): void {
    const name = requireText(entry, 'name', where)
    const value = requireText(entry, 'value', where)
    if (!isToken(name)) invalidEntry(`${where}.name is not a valid cookie name`)
    if (!isCookieValue(value)) invalidEntry(`${where}.value must consist of cookie-octets (RFC 6265)`)
  },
  writesHeaders: () => ['cookie'],
  writes: (entry: CookieInjection) => [`cookie:${entry.name.toLowerCase()}`],
  needsBody: () => false,
  apply(request, entry) {
    const pair = `${entry.name}=${entry.value}`
    const existing = request.headers.get('cookie')
    request.headers.set('cookie', existing ? `${existing}; ${pair}` : pair)
  },
  secrets(entry: CookieInjection) {
    const quoted = entry.value.length >= 2 && entry.value.startsWith('"') && entry.value.endsWith('"')
    return quoted && entry.value.length > 2 ? [entry.value, entry.value.slice(1, -1)] : [entry.value]
  },
})
