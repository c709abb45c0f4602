import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeAlphabetB64u, decodeB64u } from './b64u.js'

// The one canonical spelling of some bytes: Node's encoder, which never pads.
const isCanonical = (s: string) =>
  /^[A-Za-z0-9_-]*$/.test(s) && Buffer.from(s, 'base64url').toString('base64url') === s

describe('decodeB64u', () => {
  it('decodes what Node encodes, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const decoded = decodeB64u(Buffer.from(bytes).toString('base64url'))
        expect(decoded && Buffer.from(bytes).equals(decoded)).toBe(true)
      }),
    )
  })

  it('accepts a string exactly when it is the canonical encoding of its bytes', () => {
    const chars = fc.constantFrom(
      ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= .\n\u00e9'.split(''),
    )
    fc.assert(
      fc.property(fc.string({ unit: chars, maxLength: 24 }), (s) => {
        expect(decodeB64u(s) !== undefined).toBe(isCanonical(s))
      }),
      { numRuns: 5000 },
    )
  })

  it('decodeAlphabetB64u gives what decodeB64u gives for any string of the base64url alphabet', () => {
    const chars = fc.constantFrom(
      ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''),
    )
    fc.assert(
      fc.property(fc.string({ unit: chars, maxLength: 24 }), (s) => {
        expect(decodeAlphabetB64u(s)).toEqual(decodeB64u(s))
      }),
      { numRuns: 5000 },
    )
  })

  it('refuses padding, whitespace, the base64 alphabet and leftover bits', () => {
    expect(decodeB64u('aGk')).toEqual(Buffer.from('hi'))
    expect(decodeB64u('')).toEqual(Buffer.alloc(0))
    expect(decodeB64u('QUI')).toEqual(Buffer.from('AB'))
    for (const bad of ['aGk=', 'aG k', 'aGk\n', 'a+8', 'a/8', 'aGl', 'QR', 'QUJ', 'A', 'AAAAA', '%41']) {
      expect(decodeB64u(bad)).toBeUndefined()
    }
  })
})
