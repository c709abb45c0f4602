import { createCipheriv, randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { aesKeyUnwrap } from './aes-kw.js'

const wrap = (kek: Uint8Array, key: Uint8Array) => {
  const cipher = createCipheriv('id-aes256-wrap', kek, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'))
  return Buffer.concat([cipher.update(key), cipher.final()])
}

describe('aesKeyUnwrap', () => {
  it('unwraps the 256-bit key of RFC 3394 §4.6', () => {
    const kek = Buffer.from('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F', 'hex')
    const wrapped = Buffer.from(
      '28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21',
      'hex',
    )
    expect(aesKeyUnwrap(kek, wrapped)?.toString('hex').toUpperCase()).toBe(
      '00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F',
    )
  })

  it('round-trips any key and refuses any single-bit change or another KEK', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat(319),
        (kek, key, bit) => {
          const wrapped = wrap(kek, key)
          expect(aesKeyUnwrap(kek, wrapped)?.equals(Buffer.from(key))).toBe(true)
          const altered = Buffer.from(wrapped)
          altered[bit >> 3]! ^= 1 << (bit & 7)
          expect(aesKeyUnwrap(kek, altered)).toBeUndefined()
          expect(aesKeyUnwrap(randomBytes(32), wrapped)).toBeUndefined()
        },
      ),
      { numRuns: 200 },
    )
  })

  it('refuses wrong sizes', () => {
    const kek = randomBytes(32)
    const wrapped = wrap(kek, randomBytes(32))
    expect(aesKeyUnwrap(kek.subarray(0, 16), wrapped)).toBeUndefined()
    expect(aesKeyUnwrap(kek, wrapped.subarray(0, 39))).toBeUndefined()
    expect(aesKeyUnwrap(kek, wrapped.subarray(0, 16))).toBeUndefined()
    expect(aesKeyUnwrap(kek, new Uint8Array(0))).toBeUndefined()
  })
})
