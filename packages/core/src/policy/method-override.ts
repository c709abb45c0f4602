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
 * Whether a decoded field name is `_method` to some framework. Read as loosely as the loosest
 * parser: PHP drops leading spaces and turns ` ` and `.` into `_` (so ` _method` and `.method`
 * are `_method` to Laravel and Symfony), an array suffix (`_method[]`) still names the field,
 * and case is ignored. Counting a field that no framework would read only refuses an odd request;
 * missing one would let a method through.
 */
function namesOverride(name: string): boolean {
  const bracket = name.indexOf('[')
  const base = bracket === -1 ? name : name.slice(0, bracket)
  return (
    base
      .replace(/^[\t\n\f\r ]+/, '')
      .replace(/[ .]/g, '_')
      .toLowerCase() === OVERRIDE
  )
}

/** Percent-decodes leniently: a malformed escape stays as it is, as lenient servers leave it. */
function decodeLeniently(text: string): string {
  if (!text.includes('%')) return text
  try {
    return decodeURIComponent(text)
  } catch {
    return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run)
      } catch {
        return run
      }
    })
  }
}

/**
 * The methods named by `_method` parameters in a query (with or without its leading `?`),
 * trimmed and upper-cased, one per parameter, in order. Pairs are split on `&` and `;` (some
 * parsers take both), names decoded (`+` is a space, `%5Fmethod` counts) and read as loosely as
 * the loosest framework (see `namesOverride`). Parses the query only when it could hold such a
 * parameter.
 *
 * @example
 * ```ts
 * methodOverrideInQuery('?_method=delete&_method=PUT') // ['DELETE', 'PUT']
 * methodOverrideInQuery('?+_method=patch;.method=put') // ['PATCH', 'PUT']
 * methodOverrideInQuery('?state=open') // []
 * ```
 */
export function methodOverrideInQuery(search: string): string[] {
  if (!/method|%/i.test(search)) return []
  const text = search.startsWith('?') ? search.slice(1) : search
  const values: string[] = []
  for (const pair of text.split(/[&;]/)) {
    const equals = pair.indexOf('=')
    const rawName = equals === -1 ? pair : pair.slice(0, equals)
    if (!namesOverride(decodeLeniently(rawName.replaceAll('+', ' ')))) continue
    values.push(equals === -1 ? '' : decodeLeniently(pair.slice(equals + 1).replaceAll('+', ' ')))
  }
  return collect(values)
}

/**
 * What a `Content-Type` may make an upstream parse as a form: any of its comma-separated values
 * (two headers are joined with `, `), each cut at the first `;`, `,` or whitespace as PHP cuts
 * it, or the type merely mentioned anywhere in it. Over-reading is safe here: the body is then
 * only searched for `_method` fields.
 */
function formKinds(contentType: string): { form: boolean; multipart: boolean } {
  const lower = contentType.toLowerCase()
  return { form: lower.includes('x-www-form-urlencoded'), multipart: lower.includes('multipart/') }
}

/**
 * Whether a request with this `Content-Type` may carry `_method` fields some framework reads:
 * a form-encoded or multipart type anywhere in the value, however it is spelled around it.
 *
 * @example
 * ```ts
 * mayCarryFormFields('application/x-www-form-urlencoded, text/plain') // true
 * mayCarryFormFields('application/json') // false
 * ```
 */
export function mayCarryFormFields(contentType: string | null): boolean {
  if (contentType === null) return false
  const kinds = formKinds(contentType)
  return kinds.form || kinds.multipart
}

/** Every value of a `Content-Type` or `Content-Disposition` parameter, unquoted, in order. */
function parameters(header: string, names: readonly string[]): { name: string; value: string }[] {
  // Parameters after a `;` or `,`: name=token or name="quoted \" string".
  const pattern = /[;,]\s*([^\s=;,]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;,]*))/g
  const out: { name: string; value: string }[] = []
  for (const match of header.matchAll(pattern)) {
    const name = match[1]!.toLowerCase()
    if (!names.includes(name)) continue
    out.push({ name, value: match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!.trim() })
  }
  return out
}

/** A part's field names from its `Content-Disposition`: `name`, and `name*` (RFC 5987) decoded. */
function dispositionNames(header: string): string[] {
  return parameters(`;${header}`, ['name', 'name*']).map(({ name, value }) => {
    if (name === 'name') return value
    // charset'language'percent-encoded
    const quote = value.indexOf("'", value.indexOf("'") + 1)
    return decodeLeniently(quote === -1 ? value : value.slice(quote + 1))
  })
}

/**
 * The raw values of the multipart parts whose `Content-Disposition` names them `_method` (read
 * as loosely as `namesOverride` reads names). Lenient where upstream parsers are lenient (bare LF
 * line ends, header names in any case), so a body an upstream reads as overriding the method is
 * never missed here.
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
        if (dispositionNames(line.slice(colon + 1)).some(namesOverride)) {
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
 * The methods named by `_method` fields of a request body that some framework may read as a
 * form: form-encoded fields (as `methodOverrideInQuery` reads them), and multipart parts found
 * with every `boundary` the `Content-Type` names (a value with two boundaries is searched with
 * both). The type is recognised wherever it appears in the value (`mayCarryFormFields`).
 * Trimmed and upper-cased, one per field; `[]` for any other content type, a multipart type
 * without a boundary, or no such field. Pure: the caller decides how much of the body to
 * buffer, and refuses the request when a method is not one the grant allows.
 *
 * @example
 * ```ts
 * const body = new TextEncoder().encode('title=x&_method=delete')
 * methodOverrideInBody('application/x-www-form-urlencoded', body) // ['DELETE']
 * ```
 */
export function methodOverrideInBody(contentType: string | null, body: Uint8Array): string[] {
  if (contentType === null) return []
  const kinds = formKinds(contentType)
  if (!kinds.form && !kinds.multipart) return []
  // UTF-8 with replacement: ASCII bytes (names, boundaries, line ends) always decode as themselves.
  const text = new TextDecoder().decode(body)
  const out = kinds.form ? methodOverrideInQuery(text) : []
  if (kinds.multipart) {
    const boundaries = new Set(parameters(contentType, ['boundary']).map(({ value }) => value))
    for (const boundary of boundaries)
      if (boundary !== '') out.push(...collect(multipartOverrides(text, boundary)))
  }
  return out
}
