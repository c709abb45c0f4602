import { KeyholeError } from '../errors.js'
import { hasControlChar } from '../policy/header-rules.js'
import type { BodyInjection } from '../types.js'
import { utf8 } from './bytes.js'
import { invalidEntry, requireText } from './entry-fields.js'
import type { Injector } from './injector.js'
import { parseJsonPointer } from './json-pointer.js'
import { spliceForm } from './splice-form.js'
import { spliceJson } from './splice-json.js'

const JSON_TYPE = /^application\/(?:[!#$%&'*+\-.^_`|~0-9a-z]+\+)?json$/

function badRequest(message: string): never {
  throw new KeyholeError('bad_request', message, { reason: 'body_credential' })
}

function decodeBody(body: Uint8Array | null): string {
  if (body === null) return ''
  try {
    // ignoreBOM keeps a BOM in the text, so re-encoding gives back the very same bytes.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body)
  } catch {
    return badRequest('the request body is not valid UTF-8')
  }
}

/**
 * `{ type: 'body', field, value }`: sets one field of the request body, creating it if absent.
 * `field` is a JSON pointer (RFC 6901, `/auth/api_key`) into an `application/json` or
 * `application/*+json` body; in an `application/x-www-form-urlencoded` body a one-token pointer
 * (`/api_key`) names the form field, which ends with exactly one value. The rest of the body is
 * kept byte for byte (the value is spliced into the original text, never re-serialised, so
 * numbers beyond 2^53 survive). Any other type (multipart included), a charset other than UTF-8,
 * an encoded (`Content-Encoding`) body, malformed JSON, or a pointer whose parent is missing or
 * not an object is `KeyholeError('bad_request')`. Needs the buffered body; a request without one
 * counts as an empty body, and an empty JSON body as `{}`. Drops `Content-Length`: the engine
 * sends the new length.
 *
 * @example
 * ```ts
 * const request = { method: 'POST', url, headers: new Headers({ 'content-type': 'application/json' }),
 *   body: utf8('{"query":"x"}') }
 * await bodyInjector.apply(request, { type: 'body', field: '/auth/key', value: 's' }, context)
 * // throws bad_request: /auth does not exist
 * ```
 */
export const bodyInjector: Injector<BodyInjection> = Object.freeze<Injector<BodyInjection>>({
  type: 'body',
  fields: Object.freeze(['field', 'value']),
  validate(entry: Readonly<Record<string, unknown>>, where: string): void {
    const field = requireText(entry, 'field', where)
    const value = requireText(entry, 'value', where)
    if (parseJsonPointer(field) === undefined)
      invalidEntry(`${where}.field must be a JSON pointer to a member, such as /auth/api_key`)
    if (hasControlChar(field)) invalidEntry(`${where}.field contains control characters`)
    try {
      encodeURIComponent(field + value)
    } catch {
      invalidEntry(`${where} contains an unpaired surrogate`)
    }
  },
  writesHeaders: () => [],
  writes: (entry: BodyInjection) => [`body field:${entry.field}`],
  needsBody: () => true,
  apply(request, entry: BodyInjection) {
    const tokens = parseJsonPointer(entry.field)
    if (tokens === undefined) return badRequest('the injected body field is not a JSON pointer')
    if (request.headers.has('content-encoding'))
      badRequest('an encoded request body cannot take a credential')
    const [mediaType = '', ...parameters] = (request.headers.get('content-type') ?? '').split(';')
    const type = mediaType.trim().toLowerCase()
    for (const parameter of parameters) {
      const [name = '', raw = ''] = parameter.split('=')
      const charset = raw.trim().replace(/^"|"$/g, '').toLowerCase()
      if (name.trim().toLowerCase() === 'charset' && charset !== 'utf-8' && charset !== 'utf8')
        badRequest('a request body that takes a credential must be UTF-8')
    }
    let text: string
    if (JSON_TYPE.test(type)) {
      // An empty JSON body is an empty object, as an empty form is an empty form: the field is
      // created in it (a POST whose only field is the credential sends no body of its own).
      const json = decodeBody(request.body)
      text = spliceJson(json === '' ? '{}' : json, tokens, entry.value)
    } else if (type === 'application/x-www-form-urlencoded') {
      if (tokens.length !== 1) badRequest('a form body has no nested fields')
      text = spliceForm(decodeBody(request.body), tokens[0]!, entry.value)
    } else {
      return badRequest('a credential goes only into a JSON or form-encoded request body')
    }
    request.body = utf8(text)
    request.headers.delete('content-length')
  },
  secrets: (entry: BodyInjection) => [entry.value],
})
