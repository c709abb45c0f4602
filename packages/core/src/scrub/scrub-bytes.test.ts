import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { buildAutomaton } from './automaton.js'
import { compileScrubber } from './compile-scrubber.js'
import { latin1, naiveMask } from './scrub.fixture.js'
import { scrubBytesWith } from './scrub-bytes.js'
import { searchSet } from './search-set.js'
import { utf8 } from './utf8.js'

const bytesOver = (alphabet: string, maxLength: number, minLength = 0) =>
  fc.array(fc.constantFrom(...alphabet), { minLength, maxLength }).map((chars) => utf8(chars.join('')))

describe('scrubBytesWith (any pattern set)', () => {
  it('masks the union of all matches, overlaps included', () => {
    const automaton = buildAutomaton(['abc', 'bcd', 'c'].map(utf8))
    const bytes = utf8('xabcdx-c-ab-abcbcd')
    expect(scrubBytesWith(automaton, bytes)).toBe(4)
    expect(latin1(bytes)).toBe('x****x-*-ab-******')
  })

  it('counts a match that joins earlier runs as one occurrence', () => {
    const bytes = utf8('abcd ab c')
    expect(scrubBytesWith(buildAutomaton(['ab', 'c', 'bcd'].map(utf8)), bytes)).toBe(3)
    expect(latin1(bytes)).toBe('**** ** *')
  })

  it('equals the naive oracle: every occurrence masked, nothing else touched, same length (property)', () => {
    fc.assert(
      fc.property(
        fc.array(bytesOver('abc', 6, 1), { minLength: 1, maxLength: 6 }),
        bytesOver('abcd', 200),
        (patterns, body) => {
          const expected = naiveMask(body, patterns)
          const bytes = body.slice()
          const count = scrubBytesWith(buildAutomaton(patterns), bytes)
          expect(bytes.length).toBe(body.length)
          expect(latin1(bytes)).toBe(latin1(expected.masked))
          expect(count).toBe(expected.occurrences)
        },
      ),
      { seed: 1234, numRuns: 500 },
    )
  })
})

describe('Scrubber.scrubBytes and scrubText', () => {
  it('masks a secret in a JSON echo, keeping the length', () => {
    const scrubber = compileScrubber(['sk-test-123'])
    const { text, count } = scrubber.scrubText('{"headers":{"x-api-key":"sk-test-123"}}')
    expect(text).toBe('{"headers":{"x-api-key":"***********"}}')
    expect(count).toBe(1)
  })

  it('gives as many * as the match had UTF-8 bytes', () => {
    expect(compileScrubber(['clé-secrète']).scrubText('[clé-secrète]').text).toBe(`[${'*'.repeat(13)}]`)
  })

  it('returns the very same text when nothing matched', () => {
    const text = 'nothing to see here'
    expect(compileScrubber(['sk-test-123']).scrubText(text)).toEqual({ text, count: 0 })
  })

  it('equals the oracle over the search set of random secrets (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '/', 'Y', 'W'), minLength: 1, maxLength: 9 }), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.array(
          fc.oneof(
            fc.string({ unit: fc.constantFrom('a', 'b', 'Y', 'W', 'F', '%', '2', '6'), maxLength: 8 }),
          ),
          {
            maxLength: 30,
          },
        ),
        fc.nat(),
        (secrets, noise, pick) => {
          const forms = secrets.flatMap((secret) => [secret, encodeURIComponent(secret), btoa(secret)])
          const body = utf8(
            noise.map((piece, i) => piece + (i % 3 === 0 ? forms[(pick + i) % forms.length] : '')).join(''),
          )
          const expected = naiveMask(body, searchSet(secrets))
          const bytes = body.slice()
          const count = compileScrubber(secrets).scrubBytes(bytes)
          expect(latin1(bytes)).toBe(latin1(expected.masked))
          expect(count).toBe(expected.occurrences)
        },
      ),
      { seed: 4321, numRuns: 300 },
    )
  })
})
