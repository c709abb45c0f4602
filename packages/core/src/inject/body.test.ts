import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isKeyholeError } from '../errors.js'
import { bodyInjector } from './body.js'
import { parseJsonPointer } from './json-pointer.js'
import { spliceForm } from './splice-form.js'
import { spliceJson } from './splice-json.js'
import { context, outgoing, text } from './test-request.fixture.js'

const SECRET = 'sk_live_TOPSECRET_9f8e7d'
const json = { 'content-type': 'application/json' }

async function inject(
  body: string | null,
  field: string,
  headers: Record<string, string> = json,
): Promise<string> {
  const request = outgoing('https://api.example.com/', { method: 'POST', headers, body })
  await bodyInjector.apply(request, { type: 'body', field, value: SECRET }, context())
  expect(request.headers.has('content-length')).toBe(false)
  return text(request)
}

async function badRequest(
  body: string | null,
  field: string,
  headers: Record<string, string> = json,
): Promise<void> {
  const error = await inject(body, field, headers).catch((e: unknown) => e)
  expect(isKeyholeError(error, 'bad_request')).toBe(true)
  expect((error as Error).message).not.toContain(SECRET)
}

describe('JSON pointers', () => {
  it('unescapes ~1 and ~0 in that order, and refuses what is not a pointer to a member', () => {
    expect(parseJsonPointer('/a~1b')).toEqual(['a/b'])
    expect(parseJsonPointer('/~0')).toEqual(['~'])
    expect(parseJsonPointer('/~01')).toEqual(['~1'])
    expect(parseJsonPointer('/')).toEqual([''])
    expect(parseJsonPointer('/a/0/b')).toEqual(['a', '0', 'b'])
    for (const bad of ['', 'a', '/~', '/~2', '/a~']) expect(parseJsonPointer(bad)).toBeUndefined()
  })
})

describe('body into JSON', () => {
  it('replaces a member in place and keeps everything else byte for byte, big numbers included', async () => {
    const body = '{ "id": 12345678901234567890, "auth" : {"key": "mine", "n": 1.0e+2}, "x":"\\u00e9" }'
    expect(await inject(body, '/auth/key')).toBe(
      `{ "id": 12345678901234567890, "auth" : {"key": "${SECRET}", "n": 1.0e+2}, "x":"\\u00e9" }`,
    )
  })

  it('creates a missing member right after the parent brace, in empty and non-empty objects', async () => {
    expect(await inject('{"a":12345678901234567890}', '/key')).toBe(
      `{"key":"${SECRET}","a":12345678901234567890}`,
    )
    expect(await inject('{"auth": { } }', '/auth/key')).toBe(`{"auth": {"key":"${SECRET}" } }`)
  })

  it('creates the body from nothing, as a form body is: an empty JSON body is {}', async () => {
    expect(await inject(null, '/key')).toBe(`{"key":"${SECRET}"}`)
    expect(await inject('', '/key')).toBe(`{"key":"${SECRET}"}`)
    // A nested field still needs its parent, and whitespace is not an empty body.
    await badRequest('', '/auth/key')
    await badRequest(' ', '/key')
  })

  it('follows escaped pointer tokens and array indexes', async () => {
    expect(await inject('{"a/b":{}}', '/a~1b/k')).toBe(`{"a/b":{"k":"${SECRET}"}}`)
    expect(await inject('{"~":{"x":1}}', '/~0/x')).toBe(`{"~":{"x":"${SECRET}"}}`)
    expect(await inject('{"list":[{"a":1},{"b":2}]}', '/list/1/k')).toBe(
      `{"list":[{"a":1},{"k":"${SECRET}","b":2}]}`,
    )
    expect(await inject('{"a\\u002fb":{}}', '/a~1b/k')).toBe(`{"a\\u002fb":{"k":"${SECRET}"}}`)
    expect(await inject('{"":{}}', '//k')).toBe(`{"":{"k":"${SECRET}"}}`)
  })

  it('accepts application/*+json and a UTF-8 charset, keeps a BOM', async () => {
    expect(await inject('{}', '/k', { 'content-type': 'application/vnd.api+json; charset=UTF-8' })).toBe(
      `{"k":"${SECRET}"}`,
    )
    const request = outgoing('https://api.example.com/', { method: 'POST', headers: json, body: '\uFEFF{}' })
    await bodyInjector.apply(request, { type: 'body', field: '/k', value: SECRET }, context())
    expect(Buffer.from(request.body!).toString('hex')).toBe(
      Buffer.from(`\uFEFF{"k":"${SECRET}"}`).toString('hex'),
    )
  })

  it('refuses malformed JSON, missing or non-object parents, repeated members, arrays as parents', async () => {
    for (const [body, field] of [
      ['{"a":', '/a'],
      ['{"a":1}', '/a/b'],
      ['{"a":"s"}', '/a/b'],
      ['{}', '/missing/b'],
      ['[]', '/0'],
      ['{"list":[1]}', '/list/0'],
      ['{"list":[{}]}', '/list/1/k'],
      ['{"list":[{}]}', '/list/-/k'],
      ['{"list":[{}]}', '/list/01/k'],
      ['{"a":1,"a":2}', '/a'],
      ['{"a":{},"a":{}}', '/a/k'],
      ['"text"', '/a'],
    ] as const) {
      await badRequest(body, field)
    }
  })

  it('refuses other types, other charsets, encoded bodies and invalid UTF-8', async () => {
    await badRequest('{}', '/k', { 'content-type': 'text/plain' })
    await badRequest('{}', '/k', {})
    await badRequest('--x\r\n', '/k', { 'content-type': 'multipart/form-data; boundary=x' })
    await badRequest('{}', '/k', { 'content-type': 'application/json; charset=utf-16' })
    await badRequest('{}', '/k', { 'content-type': 'application/json', 'content-encoding': 'gzip' })
    const request = outgoing('https://api.example.com/', {
      method: 'POST',
      headers: json,
      body: new Uint8Array([0x7b, 0xff, 0x7d]),
    })
    const error = await (async () =>
      bodyInjector.apply(request, { type: 'body', field: '/k', value: SECRET }, context()))().catch(
      (e: unknown) => e,
    )
    expect(isKeyholeError(error, 'bad_request')).toBe(true)
  })
})

describe('body into a form', () => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' }

  it('replaces the first copy, removes repeats, keeps the rest byte for byte', async () => {
    expect(await inject('a=%41+b&api_key=x&b=2&api%5Fkey=y&api_key', '/api_key', form)).toBe(
      `a=%41+b&api_key=${SECRET}&b=2`,
    )
    expect(await inject('a=1', '/k', form)).toBe(`a=1&k=${SECRET}`)
    expect(await inject(null, '/k', form)).toBe(`k=${SECRET}`)
    expect(await inject('a=1', '/a~1b', form)).toBe(`a=1&a%2Fb=${SECRET}`)
  })

  it('refuses a nested pointer', async () => {
    await badRequest('a=1', '/a/b', form)
  })
})

describe('body validation', () => {
  it('wants a JSON pointer and a value without CR, LF or NUL', () => {
    for (const entry of [
      { field: 'auth', value: SECRET },
      { field: '', value: SECRET },
      { field: '/a~2', value: SECRET },
      { field: '/a', value: `${SECRET}\r\n` },
      { field: '/a\n', value: SECRET },
      { field: '/a', value: '' },
    ]) {
      let error: unknown
      try {
        bodyInjector.validate(entry, 'inject[0]')
      } catch (e) {
        error = e
      }
      expect(isKeyholeError(error, 'invalid_grant')).toBe(true)
      expect((error as Error).message).not.toContain(SECRET)
    }
  })
})

// A JSON value generator that includes big integers written as text (beyond 2^53) and odd spacing.
const bigNumber = fc.bigInt({ min: 2n ** 60n, max: 2n ** 70n }).map((n) => n.toString())

describe('splices (properties)', () => {
  it('a JSON splice parses to JSON.parse + set, and leaves big numbers as written', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
        fc.string({ maxLength: 6 }),
        fc.string({ maxLength: 6 }),
        fc.string({ maxLength: 12 }),
        fc.boolean(),
        bigNumber,
        (outer, inner, parentKey, key, value, pretty, big) => {
          const doc = { ...outer, [parentKey]: inner }
          const source = JSON.stringify(doc, null, pretty ? 2 : undefined).replace(/^\{/, `{"big":${big},`)
          // The big member is only kept when no generated key is named "big" (JSON.parse keeps the last).
          fc.pre(!('big' in doc))
          const pointer = `/${[parentKey, key].map((t) => t.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`
          const tokens = parseJsonPointer(pointer)!
          const out = spliceJson(source, tokens, value)
          const expected = JSON.parse(source) as Record<string, Record<string, unknown>>
          expected[parentKey]![key] = value
          expect(JSON.parse(out)).toEqual(expected)
          expect(out).toContain(`"big":${big}`)
        },
      ),
      { seed: 20240611, numRuns: 300 },
    )
  })

  it('a form splice leaves exactly one copy of the field with the value, other pairs unchanged and in order', () => {
    const name = fc.constantFrom('a', 'b', 'api_key', 'k y', 'é', 'a&b')
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, fc.string({ maxLength: 5 })), { maxLength: 8 }),
        name,
        fc.string({ maxLength: 10 }),
        (pairs, target, value) => {
          const source = new URLSearchParams(pairs).toString()
          const out = spliceForm(source, target, value)
          const parsed = [...new URLSearchParams(out)]
          expect(parsed.filter(([n]) => n === target)).toEqual([[target, value]])
          expect(parsed.filter(([n]) => n !== target)).toEqual(pairs.filter(([n]) => n !== target))
          const others = source
            .split('&')
            .filter((p) => p !== '' && new URLSearchParams(p).keys().next().value !== target)
          expect(out.split('&').filter((p) => new URLSearchParams(p).keys().next().value !== target)).toEqual(
            others,
          )
        },
      ),
      { seed: 20240611, numRuns: 300 },
    )
  })
})
