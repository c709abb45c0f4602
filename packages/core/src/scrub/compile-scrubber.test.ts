import { describe, expect, it } from 'vitest'
import { compileScrubber } from './compile-scrubber.js'

describe('compileScrubber', () => {
  it('compiles once per secrets array', () => {
    const secrets = ['sk-test-123']
    expect(compileScrubber(secrets)).toBe(compileScrubber(secrets))
  })

  it('shares one scrubber between lists with the same secrets, and never between different ones', () => {
    const a = compileScrubber(['sk-shared-123', 'Bearer sk-shared-123'])
    expect(compileScrubber(['sk-shared-123', 'Bearer sk-shared-123'])).toBe(a)
    // A separator join would give these one key; each must still mask what it was built for.
    const joined = compileScrubber(['left\u0000right'])
    const apart = compileScrubber(['left', 'right'])
    expect(apart).not.toBe(joined)
    expect(apart.scrubText('left right').text).toBe('**** *****')
    expect(joined.scrubText('left right').count).toBe(0)
  })

  it('changes nothing for an empty list or empty secrets', () => {
    for (const scrubber of [compileScrubber([]), compileScrubber([''])]) {
      expect(scrubber.empty).toBe(true)
      expect(scrubber.patternCount).toBe(0)
      expect(scrubber.scrubText('sk-test-123')).toEqual({ text: 'sk-test-123', count: 0 })
      const bytes = new TextEncoder().encode('abc')
      expect(scrubber.scrubBytes(bytes)).toBe(0)
      const headers = new Headers({ a: 'b' })
      expect(scrubber.scrubHeaders(headers)).toBe(0)
    }
  })

  it('masks every secret of a grant in one pass', () => {
    const scrubber = compileScrubber(['ghp_0123456789abcdef', 'Basic dXNlcjpodW50ZXIy', 'hunter2'])
    const { text, count } = scrubber.scrubText(
      'a=ghp_0123456789abcdef b=Basic dXNlcjpodW50ZXIy c=hunter2 d=Z2hwXzAxMjM0NTY3ODlhYmNkZWY=',
    )
    expect(count).toBe(4)
    // The whole Basic value is masked, though it contains the password's base64 (overlaps join).
    // The base64 of the token keeps its last character, which also carries padding bits, and '='.
    expect(text).toBe(`a=${'*'.repeat(20)} b=${'*'.repeat(22)} c=${'*'.repeat(7)} d=${'*'.repeat(26)}Y=`)
  })

  it('keeps a short raw secret', () => {
    expect(compileScrubber(['k9']).scrubText('a k9 b')).toEqual({ text: 'a ** b', count: 1 })
  })
})
