import { isForbiddenInjectHeader, isHeaderValue, isToken } from '../policy/header-rules.js'
import type { HmacInjection } from '../types.js'
import { toBase64, toHex, utf8 } from './bytes.js'
import { invalidEntry, optionalChoice, optionalText, requireText } from './entry-fields.js'
import type { Injector } from './injector.js'

const HASH = { sha256: 'SHA-256', sha512: 'SHA-512' } as const

// Importing a key costs more than the HMAC of a small body; entries live as long as their cached
// grant, so the key is imported once per entry object.
const keys = new WeakMap<HmacInjection, Promise<CryptoKey>>()

function importKey(entry: HmacInjection): Promise<CryptoKey> {
  let key = keys.get(entry)
  if (!key) {
    key = crypto.subtle.importKey(
      'raw',
      utf8(entry.key),
      { name: 'HMAC', hash: HASH[entry.algorithm ?? 'sha256'] },
      false,
      ['sign'],
    )
    keys.set(entry, key)
  }
  return key
}

/**
 * `{ type: 'hmac', name, key, algorithm?, encoding?, prefix? }`: signs the request body with
 * HMAC (`sha256` default, or `sha512`; the key is the UTF-8 bytes of `key`) and sets header
 * `name` to `prefix` + the signature (`hex` default, or `base64`). A request without a body is
 * signed over the empty body. Runs after every non-signing injector (`signs`), so it signs the
 * body as sent, after a `body` injector changed it. WebCrypto only. Secrets: the key; each
 * request's signature comes back from `apply`.
 *
 * @example
 * ```ts
 * const entry = { type: 'hmac', name: 'X-Hub-Signature-256', key: 'whsec', prefix: 'sha256=' } as const
 * const { secrets } = await hmacInjector.apply(request, entry, context)
 * request.headers.get('x-hub-signature-256') // 'sha256=5c8f...'
 * ```
 */
export const hmacInjector: Injector<HmacInjection> = Object.freeze<Injector<HmacInjection>>({
  type: 'hmac',
  fields: Object.freeze(['name', 'key', 'algorithm', 'encoding', 'prefix']),
  signs: true,
  validate(entry: Readonly<Record<string, unknown>>, where: string): void {
    const name = requireText(entry, 'name', where)
    requireText(entry, 'key', where)
    optionalChoice(entry, 'algorithm', where, ['sha256', 'sha512'])
    optionalChoice(entry, 'encoding', where, ['hex', 'base64'])
    const prefix = optionalText(entry, 'prefix', where)
    if (!isToken(name)) invalidEntry(`${where}.name is not a valid header name`)
    if (isForbiddenInjectHeader(name)) invalidEntry(`${where}.name is a header keyhole may not inject`)
    // The header is prefix + signature; the signature is hex or base64, so the prefix decides.
    if (prefix !== undefined && !isHeaderValue(`${prefix}x`))
      invalidEntry(`${where}.prefix must be visible ASCII, spaces and tabs only inside`)
  },
  writesHeaders: (entry: HmacInjection) => [entry.name.toLowerCase()],
  needsBody: () => true,
  async apply(request, entry: HmacInjection) {
    const mac = new Uint8Array(
      await crypto.subtle.sign(
        'HMAC',
        await importKey(entry),
        (request.body ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>,
      ),
    )
    const signature = entry.encoding === 'base64' ? toBase64(mac) : toHex(mac)
    const value = `${entry.prefix ?? ''}${signature}`
    request.headers.set(entry.name, value)
    return { secrets: [signature] }
  },
  secrets: (entry: HmacInjection) => [entry.key],
})
