import { createCipheriv, randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { aesGcmDecrypt } from './aes-gcm.js'

function seal(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, tagLength = 16) {
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: tagLength })
  cipher.setAAD(aad)
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return { ciphertext, tag: cipher.getAuthTag() }
}

describe('aesGcmDecrypt', () => {
  it('opens what AES-256-GCM sealed and refuses any change to ciphertext, tag or AAD', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 60 }),
        fc.nat(),
        (plaintext, aad, n) => {
          const key = randomBytes(32)
          const iv = randomBytes(12)
          const { ciphertext, tag } = seal(key, iv, plaintext, aad)
          expect(aesGcmDecrypt(key, iv, ciphertext, tag, aad)?.equals(Buffer.from(plaintext))).toBe(true)
          const badTag = Buffer.from(tag)
          badTag[n % 16]! ^= 1
          expect(aesGcmDecrypt(key, iv, ciphertext, badTag, aad)).toBeUndefined()
          expect(aesGcmDecrypt(key, iv, ciphertext, tag, Buffer.concat([aad, Buffer.of(0)]))).toBeUndefined()
          if (ciphertext.length > 0) {
            const badCiphertext = Buffer.from(ciphertext)
            badCiphertext[n % ciphertext.length]! ^= 0x80
            expect(aesGcmDecrypt(key, iv, badCiphertext, tag, aad)).toBeUndefined()
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  it('refuses IVs other than 96 bits, tags other than 128 bits and keys other than 256 bits', () => {
    const key = randomBytes(32)
    const longIv = randomBytes(16)
    const sealedLong = seal(key, longIv, Buffer.from('x'), Buffer.alloc(0))
    expect(aesGcmDecrypt(key, longIv, sealedLong.ciphertext, sealedLong.tag, Buffer.alloc(0))).toBeUndefined()
    const iv = randomBytes(12)
    const shortTag = seal(key, iv, Buffer.from('x'), Buffer.alloc(0), 12)
    expect(aesGcmDecrypt(key, iv, shortTag.ciphertext, shortTag.tag, Buffer.alloc(0))).toBeUndefined()
    const ok = seal(key, iv, Buffer.from('x'), Buffer.alloc(0))
    expect(aesGcmDecrypt(key.subarray(0, 16), iv, ok.ciphertext, ok.tag, Buffer.alloc(0))).toBeUndefined()
  })
})
