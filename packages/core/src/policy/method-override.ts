/**
 * `_method` overrides: frameworks (Rails, Laravel, Symfony, method-override for Express) let a
 * `POST` carry the method it really means in a `_method` query parameter or form field. When a
 * grant restricts methods, each such value counts as a method the request uses, or a
 * `methods: ['POST']` grant would still delete things.
 */

const OVERRIDE = '_method'
const ASCII_WHITESPACE = /^[\t\n\f\r ]+|[\t\n\f\r ]+$/g

/**
 * The method a `_method` value names, as frameworks read it: trimmed and upper-cased; `undefined`
 * for an empty value (no framework overrides with one).
 */
function overrideMethod(value: string): string | undefined {
  const method = value.replace(ASCII_WHITESPACE, '').toUpperCase()
  return method === '' ? undefined : method
}

function collect(values: Iterable<string>): string[] {
  const out: string[] = []
  for (const value of values) {
    const method = overrideMethod(value)
    if (method !== undefined) out.push(method)
  }
  return out
}

/**
 * The methods named by `_method` parameters in a query (with or without its leading `?`),
 * trimmed and upper-cased, one per parameter, in order. Names are compared after decoding, so
 * `%5Fmethod` counts too. Parses the query only when it could hold such a parameter.
 *
 * @example
 * ```ts
 * methodOverrideInQuery('?_method=delete&_method=PUT') // ['DELETE', 'PUT']
 * methodOverrideInQuery('?state=open') // []
 * ```
 */
export function methodOverrideInQuery(search: string): string[] {
  if (!search.includes(OVERRIDE) && !search.includes('%')) return []
  return collect(new URLSearchParams(search).getAll(OVERRIDE))
}

/** The media type of a `Content-Type` value, lower case, without parameters. */
function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';')
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
}

/** The value of a `Content-Type` or `Content-Disposition` parameter, unquoted, or `undefined`. */
function parameter(header: string, name: string): string | undefined {
  // Parameters after the first `;`: name=token or name="quoted \" string".
  const pattern = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g
  for (const match of header.matchAll(pattern)) {
    if (match[1]!.toLowerCase() !== name) continue
    return match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!.trim()
  }
  return undefined
}

/**
 * The raw values of the multipart parts whose `Content-Disposition` names them `_method`. Lenient
 * where upstream parsers are lenient (bare LF line ends, header names in any case), so a body an
 * upstream reads as overriding the method is never missed here.
 */
function multipartOverrides(text: string, boundary: string): string[] {
  const delimiter = `--${boundary}`
  const values: string[] = []
  let at = text.indexOf(delimiter)
  while (at !== -1) {
    const start = at + delimiter.length
    // Scanning goes on past a closing `--boundary--` too: reading too many parts only refuses
    // an odd request, reading too few could let an override through.
    const next = text.indexOf(delimiter, start)
    const part = text.slice(start, next === -1 ? text.length : next)
    const crlf = part.indexOf('\r\n\r\n')
    const lf = part.indexOf('\n\n')
    const split = crlf !== -1 && (lf === -1 || crlf < lf) ? crlf : lf
    if (split !== -1) {
      const head = part.slice(0, split)
      for (const line of head.split(/\r?\n/)) {
        const colon = line.indexOf(':')
        if (colon === -1 || line.slice(0, colon).trim().toLowerCase() !== 'content-disposition') continue
        if (parameter(line.slice(colon + 1), 'name') === OVERRIDE) {
          values.push(part.slice(split + (split === crlf ? 4 : 2)))
          break
        }
      }
    }
    at = next
  }
  return values
}

/**
 * The methods named by `_method` fields of a request body: an `application/x-www-form-urlencoded`
 * body, or a `multipart/form-data` one (its parts named `_method`, found with the `boundary` of
 * `contentType`). Trimmed and upper-cased, one per field, in order; `[]` for any other content
 * type, a multipart type without a boundary, or no such field. Pure: the caller decides how much
 * of the body to buffer, and refuses the request when a method is not one the grant allows.
 *
 * @example
 * ```ts
 * const body = new TextEncoder().encode('title=x&_method=delete')
 * methodOverrideInBody('application/x-www-form-urlencoded', body) // ['DELETE']
 * ```
 */
export function methodOverrideInBody(contentType: string | null, body: Uint8Array): string[] {
  if (contentType === null) return []
  const type = mediaType(contentType)
  if (type !== 'application/x-www-form-urlencoded' && type !== 'multipart/form-data') return []
  // UTF-8 with replacement: ASCII bytes (names, boundaries, line ends) always decode as themselves.
  const text = new TextDecoder().decode(body)
  if (type === 'application/x-www-form-urlencoded') return methodOverrideInQuery(text)
  const boundary = parameter(contentType, 'boundary')
  if (boundary === undefined || boundary === '') return []
  return collect(multipartOverrides(text, boundary))
}
