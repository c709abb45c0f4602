import { hasControlChar } from '../policy/header-rules.js'
import type { BasicInjection } from '../types.js'
import { toBase64, utf8 } from './bytes.js'
import { invalidEntry, requireText } from './entry-fields.js'
import type { Injector } from './injector.js'

/**
 * The `Authorization` value for HTTP Basic (RFC 7617): `Basic base64(username:password)`, UTF-8.
 *
 * @example
 * ```ts
 * basicAuthorization('Aladdin', 'open sesame') // 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='
 * ```
 */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${toBase64(utf8(`${username}:${password}`))}`
}

/**
 * `{ type: 'basic', username, password }`: sets `Authorization: Basic base64(username:password)`
 * (RFC 7617, UTF-8). The user name may not contain `:` (the first colon separates the two) and
 * neither may contain control characters. Secrets: the rendered value, the encoded credential
 * alone, and the password.
 *
 * @example
 * ```ts
 * basicInjector.apply(request, { type: 'basic', username: 'bot', password: 's3cr3t' }, context)
 * request.headers.get('authorization') // 'Basic Ym90OnMzY3IzdA=='
 * ```
 */
export const basicInjector: Injector<BasicInjection> = Object.freeze<Injector<BasicInjection>>({
  type: 'basic',
  fields: Object.freeze(['username', 'password']),
  validate(entry: Readonly<Record<string, unknown>>, where: string): void {
    const username = requireText(entry, 'username', where)
    const password = requireText(entry, 'password', where)
    if (username.includes(':')) invalidEntry(`${where}.username must not contain ':'`)
    if (hasControlChar(username)) invalidEntry(`${where}.username contains control characters`)
    if (hasControlChar(password)) invalidEntry(`${where}.password contains control characters`)
    try {
      encodeURIComponent(username + password)
    } catch {
      invalidEntry(`${where} contains an unpaired surrogate`)
    }
  },
  writesHeaders: () => ['authorization'],
  needsBody: () => false,
  apply(request, entry: BasicInjection) {
    request.headers.set('authorization', basicAuthorization(entry.username, entry.password))
  },
  secrets(entry: BasicInjection) {
    const value = basicAuthorization(entry.username, entry.password)
    return [value, value.slice('Basic '.length), entry.password]
  },
})
