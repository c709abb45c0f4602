import { describe, expect, it } from 'vitest'
import { encryptJwe, testKey } from '../../../test/kit/index.js'
import type { KeyholePrivateJwk } from '../../types.js'
import { decryptCompact } from './decrypt-compact.js'
import { prepareKey } from './prepare-key.js'

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString()

describe('prepareKey', () => {
  it('returns a frozen handle with the kid and curve and nothing secret', () => {
    const key = testKey('P-256').privateJwk as KeyholePrivateJwk
    const prepared = prepareKey(key)
    expect(prepared).toEqual({ kid: key.kid, curve: 'P-256' })
    expect(Object.isFrozen(prepared)).toBe(true)
    expect(JSON.stringify(prepared)).not.toContain(key.d)
  })

  it('refuses a broken key up front', () => {
    const key = testKey('X25519').privateJwk as KeyholePrivateJwk
    expect(() => prepareKey({ ...key, d: 'AAAA' })).toThrow(expect.objectContaining({ code: 'invalid_key' }))
  })

  it('a handle that only looks prepared is treated as a JWK and refused', () => {
    const key = testKey('P-256')
    const token = encryptJwe(key.publicJwk)
    expect(() => decryptCompact(token, { kid: key.privateJwk.kid, curve: 'P-256' })).toThrow(
      expect.objectContaining({ code: 'invalid_key' }),
    )
  })
})

describe('the JWK cache behind decryptCompact', () => {
  it('never confuses two different keys that claim the same kid', () => {
    for (const curve of ['P-256', 'X25519'] as const) {
      const a = testKey(curve)
      const b = testKey(curve)
      const bSameKid = { ...b.privateJwk, kid: a.privateJwk.kid }
      const toA = encryptJwe(a.publicJwk, { plaintext: 'for a' })
      const toB = encryptJwe(b.publicJwk, { plaintext: 'for b' })
      expect(text(decryptCompact(toA, a.privateJwk).plaintext)).toBe('for a')
      expect(text(decryptCompact(toB, bSameKid).plaintext)).toBe('for b')
      expect(() => decryptCompact(toA, bSameKid)).toThrow('invalid token')
      expect(text(decryptCompact(toA, { ...a.privateJwk }).plaintext)).toBe('for a')
      expect(() => decryptCompact(toB, a.privateJwk)).toThrow('invalid token')
    }
  })

  it('keeps working past its bound', () => {
    const keys = Array.from({ length: 80 }, () => testKey('X25519'))
    const tokens = keys.map((key, i) => encryptJwe(key.publicJwk, { plaintext: `n${i}` }))
    for (let round = 0; round < 2; round++) {
      keys.forEach((key, i) => {
        expect(text(decryptCompact(tokens[i]!, key.privateJwk).plaintext)).toBe(`n${i}`)
      })
    }
  })
})
