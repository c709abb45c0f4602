import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeSegmentText, nativeBytes, segmentText } from './segment-text.js'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const strict = new TextDecoder('utf-8', { fatal: true })

/** What jose does with a segment: atob after rewriting the alphabet, then fatal UTF-8. */
function joseText(segment: string): string | 'refused' {
  try {
    const binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/'))
    return strict.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))
  } catch {
    return 'refused'
  }
}

const outcome = (run: () => string): string | 'refused' => {
  try {
    return run()
  } catch {
    return 'refused'
  }
}

describe('segmentText', () => {
  it('finds the native decoder on Node', () => {
    expect(nativeBytes()).toBeTypeOf('function')
  })

  it('gives what jose gives for any string of the alphabet, on the native and the atob path', () => {
    const native = nativeBytes()
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...ALPHABET.split('')), maxLength: 40 }), (segment) => {
        const expected = joseText(segment)
        expect(outcome(() => segmentText(segment))).toBe(expected)
        expect(outcome(() => decodeSegmentText(segment, native))).toBe(expected)
        expect(outcome(() => decodeSegmentText(segment, null))).toBe(expected)
      }),
      { numRuns: 5000 },
    )
  })

  it('decodes any text, BOM, non-ASCII and invalid UTF-8 included, as jose does', () => {
    const bytes = fc.oneof(
      fc.string({ unit: 'binary' }).map((s) => new TextEncoder().encode(s)),
      fc.uint8Array({ maxLength: 30 }),
      fc.uint8Array({ maxLength: 10 }).map((b) => Uint8Array.from([0xef, 0xbb, 0xbf, ...b])),
    )
    fc.assert(
      fc.property(bytes, (b) => {
        const segment = Buffer.from(b).toString('base64url')
        const expected = joseText(segment)
        expect(outcome(() => decodeSegmentText(segment, nativeBytes()))).toBe(expected)
        expect(outcome(() => decodeSegmentText(segment, null))).toBe(expected)
      }),
      { numRuns: 300 },
    )
  })
})
