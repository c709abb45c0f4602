import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { headersFromRaw } from './raw-headers.js'

const tchar = fc.constantFrom(..."abcxyzABCXYZ019!#$%&'*+-.^_`|~".split(''))
// A few fixed names so that generated lists repeat names (in different cases) often.
const headerName = fc.oneof(
  fc.constantFrom('set-cookie', 'Set-Cookie', 'x-a', 'X-A', 'accept', 'Cookie', 'authorization'),
  fc.string({ unit: tchar, minLength: 1, maxLength: 8 }),
)
const headerValue = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'ab ,;=\t1'.split('')), maxLength: 12 }),
  fc
    .string({ unit: fc.constantFrom(...'é€ab'.split('')), maxLength: 4 })
    .map((s) => Buffer.from(s).toString('latin1')),
)
const rawHeaders = fc.array(fc.tuple(headerName, headerValue), { maxLength: 12 }).map((pairs) => pairs.flat())

function reference(raw: readonly string[]): Headers {
  const headers = new Headers()
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string)
  return headers
}

describe('headersFromRaw', () => {
  test('reads exactly as new Headers(pairs) does (property)', () => {
    fc.assert(
      fc.property(rawHeaders, headerName, (raw, probe) => {
        const view = headersFromRaw(raw)
        const real = reference(raw)
        expect([...view]).toEqual([...real])
        expect([...view.keys()]).toEqual([...real.keys()])
        expect([...view.values()]).toEqual([...real.values()])
        expect(view.get(probe)).toBe(real.get(probe))
        expect(view.has(probe)).toBe(real.has(probe))
        expect(view.getSetCookie()).toEqual(real.getSetCookie())
        const seen: [string, string][] = []
        view.forEach((value, name) => {
          seen.push([name, value])
        })
        expect(seen).toEqual([...real])
        // A Headers built from the view (what new Request() does with it) is the same again.
        expect([...new Headers(view)]).toEqual([...new Headers(real)])
      }),
      { numRuns: 500 },
    )
  })

  test('leaves HTTP/2 pseudo-headers out', () => {
    const view = headersFromRaw([':path', '/x', ':authority', 'a.test', 'accept', '*/*'])
    expect([...view]).toEqual([['accept', '*/*']])
  })

  test('is read-only', () => {
    const view = headersFromRaw(['accept', '*/*'])
    expect(() => view.set('accept', 'x')).toThrow(TypeError)
    expect(() => view.append('x', 'y')).toThrow(TypeError)
    expect(() => view.delete('accept')).toThrow(TypeError)
    expect(view.get('accept')).toBe('*/*')
    expect(Object.prototype.toString.call(view)).toBe('[object Headers]')
  })
})
