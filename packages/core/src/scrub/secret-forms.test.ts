import { Buffer } from 'node:buffer'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BASE64_ALPHABET, BASE64URL_ALPHABET, encodeBase64 } from './base64.js'
import { base64Forms, stableBase64 } from './base64-forms.js'
import { compileScrubber } from './compile-scrubber.js'
import { hexForms } from './hex-forms.js'
import { jsonForms } from './json-forms.js'
import { percentForms } from './percent-forms.js'
import { dec, latin1, pipe, split } from './scrub.fixture.js'
import { MIN_DERIVED_FORM_BYTES, secretForms } from './secret-forms.js'
import { utf8 } from './utf8.js'

const SECRET = 'a b/é"~!*\'(x)+'

describe('percentForms', () => {
  it('writes encodeURIComponent, RFC 3986 and form styles, upper- and lower-case hex', () => {
    const forms = percentForms(SECRET)
    const component = encodeURIComponent(SECRET)
    expect(forms).toContain(component)
    expect(forms).toContain(component.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()))
    const form = new URLSearchParams({ k: SECRET }).toString().slice(2)
    expect(forms).toContain(form)
    expect(forms).toContain(form.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()))
    expect(forms).toContain('a%20b%2F%C3%A9%22~%21%2A%27%28x%29%2B')
    expect(forms).toContain('a+b%2F%C3%A9%22~%21%2A%27%28x%29%2B')
    expect(forms).toContain(lowerHex(encodeURI(SECRET)))
    expect(forms).toHaveLength(12)
  })

  it('writes Python quote (safe "/") and encodeURI styles, upper- and lower-case hex', () => {
    // Both from Python 3: urllib.parse.quote(s)
    const aws = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY+EXAMPLEKEY'
    expect(percentForms(aws)).toContain('wJalrXUtnFEMI/K7MDENG/bPxRfiCY%2BEXAMPLEKEY')
    expect(percentForms(aws)).toContain('wJalrXUtnFEMI/K7MDENG/bPxRfiCY%2bEXAMPLEKEY')
    const mixed = 'a b/é"~!*\'(x)+;,?:@&=$#<>'
    const quoted = 'a%20b/%C3%A9%22~%21%2A%27%28x%29%2B%3B%2C%3F%3A%40%26%3D%24%23%3C%3E'
    expect(percentForms(mixed)).toContain(quoted)
    expect(percentForms(mixed)).toContain(lowerHex(quoted))
    expect(percentForms(mixed)).toContain(encodeURI(mixed))
    expect(percentForms(mixed)).toContain(lowerHex(encodeURI(mixed)))
    expect(encodeURI(mixed)).toBe("a%20b/%C3%A9%22~!*'(x)+;,?:@&=$#%3C%3E")
  })

  it('adds nothing for a secret every style leaves alone', () => {
    expect(new Set(percentForms('sk-test_1.2')).size).toBe(1)
  })
})

describe('base64Forms', () => {
  it('encodes like Buffer in both alphabets, padded and not', () => {
    for (const text of ['', 'a', 'ab', 'abc', 'abcd', '\u00ff\u00fe?>', 'é~?']) {
      const bytes = utf8(text)
      expect(encodeBase64(bytes, BASE64_ALPHABET, true)).toBe(Buffer.from(bytes).toString('base64'))
      expect(encodeBase64(bytes, BASE64URL_ALPHABET, false)).toBe(Buffer.from(bytes).toString('base64url'))
    }
  })

  it('keeps the characters fixed by the secret alone at each alignment', () => {
    // 'user:pw' → dXNlcjpwdw==: 'pw' starts 5 bytes in (alignment 2) and fixes characters 7 and 8
    expect(stableBase64(utf8('pw'), 2, BASE64_ALPHABET)).toBe('wd')
    expect(Buffer.from('user:pw').toString('base64').slice(7, 9)).toBe('wd')
    expect(stableBase64(utf8('abc'), 0, BASE64_ALPHABET)).toBe('YWJj')
    expect(stableBase64(utf8('abcd'), 0, BASE64_ALPHABET)).toBe('YWJjZ')
    const forms = base64Forms(utf8('secret-value'))
    expect(forms).toContain(Buffer.from('secret-value').toString('base64'))
    expect(forms).toContain(Buffer.from('secret-value').toString('base64url'))
    expect(forms).toHaveLength(10)
  })
})

describe('hexForms', () => {
  it('writes the UTF-8 bytes in lower and upper case', () => {
    expect(hexForms(utf8('k/é'))).toEqual(['6b2fc3a9', '6B2FC3A9'])
  })
})

describe('jsonForms', () => {
  it('writes JSON.stringify, \\/ and \\u escapes in both cases', () => {
    const forms = jsonForms('a"/é\n')
    expect(forms).toContain(JSON.stringify('a"/é\n').slice(1, -1))
    expect(forms).toContain('a\\"\\/é\\n')
    expect(forms).toContain('a\\"/\\u00e9\\n')
    expect(forms).toContain('a\\"\\/\\u00E9\\n')
    expect(forms).toContain('a\\u0022\\u002f\\u00e9\\u000a')
    expect(forms).toContain('a\\u0022\\u002F\\u00E9\\u000A')
  })

  it("writes Go's HTML-safe escapes with the other JSON escapes", () => {
    const forms = jsonForms('ab/cd"ef+gh i<j>k&l\'m\u2028\\')
    expect(forms).toContain('ab/cd\\"ef+gh i\\u003cj\\u003ek\\u0026l\'m\\u2028\\\\')
    expect(forms).toContain('ab/cd\\"ef+gh i\\u003Cj\\u003Ek\\u0026l\'m\\u2028\\\\')
  })

  it("writes Gson's HTML-safe escapes, = and ' included", () => {
    expect(jsonForms("k<=='é")).toContain('k\\u003c\\u003d\\u003d\\u0027é')
  })

  it('combines HTML-safe escapes with \\/ and \\u00XX escapes', () => {
    const forms = jsonForms('a<b/é')
    expect(forms).toContain('a\\u003cb\\/\\u00e9') // PHP JSON_HEX_TAG, lower-case
    expect(forms).toContain('a\\u003Cb\\/\\u00e9') // PHP JSON_HEX_TAG as PHP writes it
    expect(forms).toContain('a\\u003Cb/\\u00e9') // Django json_script
  })

  it(".NET System.Text.Json's default escapes: \" < > & ' + ` and non-ASCII in upper case", () => {
    // JsonSerializer.Serialize(...) with the default JavaScriptEncoder
    expect(jsonForms('wJalrXUtnFEMI/K7MDENG/bPxRfiCY+EXAMPLEKEY')).toContain(
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCY\\u002BEXAMPLEKEY',
    )
    expect(jsonForms('a"b<é\\c`\n\u001f')).toContain('a\\u0022b\\u003C\\u00E9\\\\c\\u0060\\n\\u001F')
  })

  it('adds nothing for a secret without HTML-sensitive characters', () => {
    // The eight forms above plus .NET's (which escapes + and é), and no other.
    expect(jsonForms('ab/c+d é')).toHaveLength(9)
    // plain, \\/, and every non-alphanumeric escaped in both cases: .NET's equals the plain one
    expect(new Set(jsonForms('ab/c-d_e')).size).toBe(4)
  })

  it('escapes astral characters as surrogate pairs', () => {
    expect(jsonForms('k😀')).toContain('k\\ud83d\\ude00')
  })
})

describe('secretForms', () => {
  it('puts the raw secret first and leaves out duplicates', () => {
    const forms = secretForms('sk-test-123')
    expect(forms[0]).toBe('sk-test-123')
    expect(new Set(forms).size).toBe(forms.length)
    expect(forms).toContain('736b2d746573742d313233')
    expect(forms).toContain('c2stdGVzdC0xMjM')
  })

  it('keeps a short raw secret but drops derived forms under the threshold', () => {
    expect(secretForms('ab')).toEqual(['ab'])
    for (const form of secretForms('abcd').slice(1))
      expect(form.length).toBeGreaterThanOrEqual(MIN_DERIVED_FORM_BYTES)
  })

  it('has no forms for the empty secret', () => {
    expect(secretForms('')).toEqual([])
  })
})

// Secrets without '*': a mask is made of '*', so a form containing one could reappear in the output.
const secretArb = fc
  .oneof(
    fc.string({ unit: 'grapheme-ascii', minLength: 8, maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength: 8, maxLength: 24 }),
    fc.base64String({ minLength: 8, maxLength: 40 }),
    fc.string({ unit: fc.constantFrom(...'aZ9/+ =<>&\'"\\%~!#;\u2028é'), minLength: 8, maxLength: 30 }),
  )
  .map((text) => text.replaceAll('*', 'x'))
  .filter((text) => utf8(text).length >= 8)
const textArb = fc.string({ unit: 'grapheme', maxLength: 60 }).map((text) => text.replaceAll('*', '_'))
const lowerHex = (text: string) => text.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())
const binary = (text: string) => String.fromCharCode(...utf8(text))

/** What real encoders make of a secret, each as a string expected somewhere in a body. */
const encoders: Record<string, (secret: string) => string> = {
  raw: (s) => s,
  encodeURIComponent: (s) => encodeURIComponent(s),
  encodeURIComponentLower: (s) => lowerHex(encodeURIComponent(s)),
  URLSearchParams: (s) => new URLSearchParams({ key: s }).toString(),
  URLSearchParamsLower: (s) => lowerHex(new URLSearchParams({ key: s }).toString()),
  bufferBase64: (s) => Buffer.from(s).toString('base64'),
  bufferBase64url: (s) => Buffer.from(s).toString('base64url'),
  btoa: (s) => btoa(binary(s)),
  hex: (s) => Buffer.from(s).toString('hex'),
  hexUpper: (s) => Buffer.from(s).toString('hex').toUpperCase(),
  JSONstringify: (s) => JSON.stringify({ s }),
  JSONslashes: (s) => JSON.stringify(s).replaceAll('/', '\\/'),
  pythonQuote: pythonQuote,
  pythonQuoteLower: (s) => lowerHex(pythonQuote(s)),
  encodeURI: (s) => encodeURI(s),
  encodeURILower: (s) => lowerHex(encodeURI(s)),
  goJSON: (s) => JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, unicodeEscape),
  gson: (s) => JSON.stringify(s).replace(/[<>&='\u2028\u2029]/g, unicodeEscape),
  dotnet: dotnetJson,
}

/** .NET `JsonSerializer.Serialize(s)` with its default encoder, one UTF-16 unit at a time. */
function dotnetJson(s: string): string {
  const short: Record<string, string> = {
    '\\': '\\\\',
    '\b': '\\b',
    '\f': '\\f',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
  }
  let out = ''
  for (const unit of s.split('')) {
    const code = unit.charCodeAt(0)
    if (short[unit]) out += short[unit]
    else if (code >= 0x20 && code < 0x7f && !`"<>&'+\``.includes(unit)) out += unit
    else out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`
  }
  return `"${out}"`
}

/** Python's `urllib.parse.quote(s)`: RFC 3986 unreserved characters and `/` kept. */
function pythonQuote(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll('%2F', '/')
}

function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/** The part of an encoder's output that is the secret's own encoding (wrappers cut off). */
function core(encoder: string, encoded: string): string {
  if (encoder.startsWith('URLSearchParams')) return encoded.slice(4)
  if (encoder === 'JSONstringify') return encoded.slice(6, -2)
  if (encoder === 'dotnet') return encoded.slice(1, -1)
  return encoded
}

describe('every encoding a real encoder produces is masked', () => {
  it('in random text at a random offset', () => {
    fc.assert(
      fc.property(
        secretArb,
        fc.constantFrom(...Object.keys(encoders)),
        textArb,
        textArb,
        (secret, encoder, before, after) => {
          const encoded = encoders[encoder]!(secret)
          const scrubber = compileScrubber([secret])
          const { text, count } = scrubber.scrubText(before + encoded + after)
          expect(count).toBeGreaterThan(0)
          // The secret's own encoding is gone; for URLSearchParams/JSON the wrapper is kept.
          expect(text).not.toContain(core(encoder, encoded))
          expect(utf8(text).length).toBe(utf8(before + encoded + after).length)
        },
      ),
      { seed: 20240611, numRuns: 400 },
    )
  })

  it('split across chunks of a streamed body', async () => {
    await fc.assert(
      fc.asyncProperty(
        secretArb,
        fc.constantFrom(...Object.keys(encoders)),
        textArb,
        textArb,
        fc.array(fc.nat(), { maxLength: 8 }),
        async (secret, encoder, before, after, cuts) => {
          const encoded = encoders[encoder]!(secret)
          const scrubber = compileScrubber([secret])
          const body = utf8(before + encoded + after)
          const stream = scrubber.stream()
          const out = await pipe(split(body, cuts), stream)
          expect(out.length).toBe(body.length)
          expect(stream.count()).toBeGreaterThan(0)
          expect(latin1(out)).not.toContain(binary(core(encoder, encoded)))
          expect(dec.decode(out)).toBe(scrubber.scrubText(before + encoded + after).text)
        },
      ),
      { seed: 20240612, numRuns: 400 },
    )
  })

  it('masks the forms the audit found unmasked', () => {
    const aws = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY+EXAMPLEKEY'
    const awsQuoted = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY%2BEXAMPLEKEY'
    expect(compileScrubber([aws]).scrubText(`?k=${awsQuoted}&x`).text).toBe(
      `?k=${'*'.repeat(awsQuoted.length)}&x`,
    )
    const go = '"ab/cd\\"ef+gh i\\u003cj\\u003ek\\u0026l\'m"'
    expect(compileScrubber(['ab/cd"ef+gh i<j>k&l\'m']).scrubText(go).text).toBe(
      `"${'*'.repeat(go.length - 2)}"`,
    )
  })

  it('inside a longer base64 text, at every alignment', () => {
    fc.assert(
      fc.property(
        secretArb,
        fc.uint8Array({ maxLength: 20 }),
        fc.uint8Array({ maxLength: 20 }),
        fc.constantFrom('base64' as const, 'base64url' as const),
        (secret, prefix, suffix, encoding) => {
          const bytes = utf8(secret)
          const encoded = Buffer.concat([prefix, bytes, suffix]).toString(encoding)
          const { text } = compileScrubber([secret]).scrubText(`data:${encoded};`)
          // Characters whose 6 bits all lie inside the secret's bytes must all be masked.
          const first = Math.ceil((8 * prefix.length) / 6)
          const last = Math.floor((8 * (prefix.length + bytes.length)) / 6)
          expect(text.slice(5 + first, 5 + last)).toBe('*'.repeat(last - first))
        },
      ),
      { seed: 7, numRuns: 300 },
    )
  })
})
