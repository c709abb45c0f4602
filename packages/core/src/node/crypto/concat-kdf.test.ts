import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { concatKdf } from './concat-kdf.js'

describe('concatKdf', () => {
  it('matches the ECDH-ES example of RFC 7518 Appendix C', () => {
    const z = Uint8Array.from([
      158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128,
      106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
    ])
    const key = concatKdf(z, {
      algorithmId: 'A128GCM',
      keyBits: 128,
      apu: Buffer.from('Alice'),
      apv: Buffer.from('Bob'),
    })
    expect(key.toString('base64url')).toBe('VqqN6vgjbSBcIijNcacQGg')
  })

  it('derives the ECDH-ES+A256KW key by default, with and without party info', () => {
    const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 20 }),
        fc.uint8Array({ maxLength: 20 }),
        (z, apu, apv) => {
          const alg = Buffer.from('ECDH-ES+A256KW')
          const expected = createHash('sha256')
            .update(
              Buffer.concat([
                u32(1),
                z,
                u32(alg.length),
                alg,
                u32(apu.length),
                apu,
                u32(apv.length),
                apv,
                u32(256),
              ]),
            )
            .digest()
          expect(concatKdf(z, { apu, apv }).equals(expected)).toBe(true)
          if (apu.length === 0 && apv.length === 0) expect(concatKdf(z).equals(expected)).toBe(true)
        },
      ),
    )
  })

  it('runs more rounds for keys longer than one hash, and refuses odd sizes', () => {
    const z = new Uint8Array(32).fill(7)
    const long = concatKdf(z, { keyBits: 512 })
    expect(long.length).toBe(64)
    expect(long.subarray(0, 32).equals(long.subarray(32))).toBe(false)
    expect(() => concatKdf(z, { keyBits: 12 })).toThrow(RangeError)
    expect(() => concatKdf(z, { keyBits: 0 })).toThrow(RangeError)
  })
})
