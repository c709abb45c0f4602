import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { methodOverrideInBody, methodOverrideInQuery } from './method-override.js'

const FORM = 'application/x-www-form-urlencoded'
const bytes = (text: string) => new TextEncoder().encode(text)

/** A multipart/form-data body with these fields, as browsers and HTTP clients write one. */
function multipart(
  boundary: string,
  fields: readonly (readonly [string, string])[],
  eol = '\r\n',
): Uint8Array {
  let text = `preamble${eol}`
  for (const [name, value] of fields) {
    text += `--${boundary}${eol}Content-Disposition: form-data; name="${name}"${eol}${eol}${value}${eol}`
  }
  return bytes(`${text}--${boundary}--${eol}`)
}

describe('methodOverrideInQuery', () => {
  it('returns every _method value, trimmed and upper-cased, in order', () => {
    expect(methodOverrideInQuery('?_method=delete&x=1&_method=%20Put+')).toEqual(['DELETE', 'PUT'])
    expect(methodOverrideInQuery('%5Fmethod=patch')).toEqual(['PATCH'])
  })

  it('reads names as loosely as the loosest framework: PHP trims, dots, spaces, brackets, ; pairs', () => {
    // All found by the audit forwarded under a POST-only grant; PHP (Laravel, Symfony) reads each as _method.
    expect(methodOverrideInQuery('?+_method=DELETE')).toEqual(['DELETE'])
    expect(methodOverrideInQuery('?%20_method=DELETE')).toEqual(['DELETE'])
    expect(methodOverrideInQuery('?a=1;_method=DELETE')).toEqual(['DELETE'])
    expect(methodOverrideInQuery('?.method=put&_method[]=patch&_METHOD=delete')).toEqual([
      'PUT',
      'PATCH',
      'DELETE',
    ])
    expect(methodOverrideInQuery('?%5fmethod=delete&_method=%ZZ')).toEqual(['DELETE', '%ZZ'])
  })

  it('ignores other parameters and empty values', () => {
    expect(methodOverrideInQuery('')).toEqual([])
    expect(methodOverrideInQuery('?state=open&q=%20')).toEqual([])
    expect(methodOverrideInQuery('?_method=&method=DELETE&x_method=PUT')).toEqual([])
  })
})

describe('methodOverrideInBody', () => {
  it('reads _method fields of a form-encoded body', () => {
    expect(methodOverrideInBody(FORM, bytes('title=x&_method=delete'))).toEqual(['DELETE'])
    expect(
      methodOverrideInBody(
        'Application/X-WWW-Form-URLEncoded; charset=UTF-8',
        bytes('_method=put&_method=patch'),
      ),
    ).toEqual(['PUT', 'PATCH'])
    expect(methodOverrideInBody(FORM, bytes('%5Fmethod=DELETE'))).toEqual(['DELETE'])
    expect(methodOverrideInBody(FORM, bytes('title=_method'))).toEqual([])
  })

  it('reads _method parts of a multipart body, whatever the boundary quoting or line ends', () => {
    const fields = [
      ['title', 'DELETE'],
      ['_method', 'delete'],
      ['file', '_method'],
      ['_method', ' Put '],
    ] as const
    expect(methodOverrideInBody('multipart/form-data; boundary=XyZ', multipart('XyZ', fields))).toEqual([
      'DELETE',
      'PUT',
    ])
    expect(methodOverrideInBody('multipart/form-data; boundary="a b;c"', multipart('a b;c', fields))).toEqual(
      ['DELETE', 'PUT'],
    )
    expect(
      methodOverrideInBody('Multipart/Form-Data; charset=x; BOUNDARY=q', multipart('q', fields, '\n')),
    ).toEqual(['DELETE', 'PUT'])
    const unquoted = bytes('--b\r\ncontent-disposition: form-data; NAME=_method\r\n\r\nPATCH\r\n--b--\r\n')
    expect(methodOverrideInBody('multipart/form-data; boundary=b', unquoted)).toEqual(['PATCH'])
  })

  it('reads a form wherever the Content-Type names it, and multipart with every boundary it names', () => {
    const form = bytes('_method=DELETE')
    for (const type of [
      'application/x-www-form-urlencoded, text/plain',
      'application/x-www-form-urlencoded,',
      'application/x-www-form-urlencoded x',
    ])
      expect({ type, found: methodOverrideInBody(type, form) }).toEqual({ type, found: ['DELETE'] })
    expect(methodOverrideInBody(FORM, bytes('+_method=DELETE'))).toEqual(['DELETE'])
    const parts = multipart('XX', [['_method', 'DELETE']])
    expect(methodOverrideInBody('multipart/form-data, text/plain; boundary=XX', parts)).toEqual(['DELETE'])
    expect(methodOverrideInBody('multipart/form-data; charset=utf-8,boundary=XX', parts)).toEqual(['DELETE'])
    expect(
      methodOverrideInBody(
        'multipart/form-data; boundary=XX; boundary=YY',
        multipart('YY', [['_method', 'PUT']]),
      ),
    ).toEqual(['PUT'])
    expect(
      methodOverrideInBody('multipart/form-data; boundary=b', multipart('b', [[' _method', 'PATCH']])),
    ).toEqual(['PATCH'])
    const starred = bytes(
      "--b\r\nContent-Disposition: form-data; name*=UTF-8''%5Fmethod\r\n\r\nDELETE\r\n--b--\r\n",
    )
    expect(methodOverrideInBody('multipart/form-data; boundary=b', starred)).toEqual(['DELETE'])
  })

  it('reads nothing from other types, a multipart type without a boundary, or no body', () => {
    const form = bytes('_method=DELETE')
    expect(methodOverrideInBody(null, form)).toEqual([])
    expect(methodOverrideInBody('application/json', bytes('{"_method":"DELETE"}'))).toEqual([])
    expect(methodOverrideInBody('text/plain', form)).toEqual([])
    expect(methodOverrideInBody('multipart/form-data', multipart('b', [['_method', 'DELETE']]))).toEqual([])
    expect(methodOverrideInBody(FORM, new Uint8Array())).toEqual([])
    expect(methodOverrideInBody('multipart/form-data; boundary=b', multipart('b', [['name', 'x']]))).toEqual(
      [],
    )
  })

  it('finds every _method field among arbitrary fields, in both encodings', () => {
    const name = fc.oneof(fc.constant('_method'), fc.string({ unit: 'grapheme-ascii', maxLength: 8 }))
    const value = fc.string({ unit: 'grapheme-ascii', maxLength: 8 })
    // Boundaries as clients generate them: characters that cannot occur in the fields around them.
    const boundary = fc.stringMatching(/^[A-Za-z0-9]{8,20}$/).map((b) => `----${b}`)
    // A name frameworks read as _method: PHP drops leading spaces, makes ' ' and '.' into '_',
    // and an array suffix still names the field; case is ignored.
    const isOverride = (n: string) =>
      n
        .split('[')[0]!
        .replace(/^[\t\n\f\r ]+/, '')
        .replace(/[ .]/g, '_')
        .toLowerCase() === '_method'
    const expected = (fields: readonly (readonly [string, string])[]) =>
      fields
        .filter(([n]) => isOverride(n))
        .map(([, v]) => v.trim().toUpperCase())
        .filter((v) => v !== '')
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 6 }), boundary, (fields, b) => {
        const form = new URLSearchParams(fields.map(([n, v]) => [n, v])).toString()
        expect(methodOverrideInBody(FORM, bytes(form))).toEqual(expected(fields))
        // Multipart names are quoted strings: keep the generated ones to what needs no escaping.
        const plain = fields.filter(([n, v]) => !/["\\\r\n]/.test(n) && !v.includes(b))
        expect(methodOverrideInBody(`multipart/form-data; boundary=${b}`, multipart(b, plain))).toEqual(
          expected(plain),
        )
      }),
      { seed: 4242, numRuns: 500 },
    )
  })

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(FORM, 'multipart/form-data; boundary=b', 'multipart/form-data; boundary="', null),
        fc.uint8Array({ maxLength: 200 }),
        (type, body) => {
          for (const method of methodOverrideInBody(type, body))
            expect(method).toBe(method.trim().toUpperCase())
        },
      ),
      { seed: 4242, numRuns: 500 },
    )
  })
})
