import crypto from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { keyPairWithoutJob, testKey } from '../../../test/kit/index.js'
import type { KeyholePrivateJwk } from '../../types.js'
import { createKeyAgreement } from './key-agreement.js'

const jwk = (curve: 'P-256' | 'X25519') => testKey(curve).privateJwk as KeyholePrivateJwk
const ephemeral = (curve: 'P-256' | 'X25519') => keyPairWithoutJob(curve)
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64url')

describe('createKeyAgreement', () => {
  for (const curve of ['P-256', 'X25519'] as const) {
    it(`${curve}: computes the same shared secret as the ephemeral side`, () => {
      const key = jwk(curve)
      const agree = createKeyAgreement(key)
      for (let i = 0; i < 20; i++) {
        const e = ephemeral(curve)
        const expected = crypto.diffieHellman({
          privateKey: e.privateKey,
          publicKey: crypto.createPublicKey({ key: { ...key, d: undefined }, format: 'jwk' }),
        })
        const epk = e.publicKey.export({ format: 'jwk' }) as Record<string, unknown>
        expect(agree(epk)?.equals(expected)).toBe(true)
      }
    })

    it(`${curve}: refuses an epk of the other curve, of another shape or with a bad coordinate`, () => {
      const agree = createKeyAgreement(jwk(curve))
      const epk = ephemeral(curve).publicKey.export({ format: 'jwk' }) as Record<string, string>
      const other = ephemeral(curve === 'P-256' ? 'X25519' : 'P-256').publicKey.export({ format: 'jwk' })
      expect(agree(other as Record<string, unknown>)).toBeUndefined()
      expect(agree({ ...epk, kty: 'oct' })).toBeUndefined()
      expect(agree({ ...epk, crv: 'P-384' })).toBeUndefined()
      expect(agree({ ...epk, x: undefined })).toBeUndefined()
      expect(agree({ ...epk, x: 12 })).toBeUndefined()
      expect(agree({ ...epk, x: `AA${epk.x}` })).toBeUndefined() // 33 bytes with a leading zero
      expect(agree({ ...epk, x: `${epk.x}=` })).toBeUndefined()
      expect(agree({ ...epk, x: ` ${epk.x}` })).toBeUndefined()
      expect(
        agree({ ...epk, x: epk.x!.replace(/-/g, '+').replace(/_/g, '/').replace(/^./, '+') }),
      ).toBeUndefined()
    })
  }

  it('P-256: refuses points off the curve, the origin and coordinates at or above the field prime', () => {
    const agree = createKeyAgreement(jwk('P-256'))
    const epk = ephemeral('P-256').publicKey.export({ format: 'jwk' }) as Record<string, string>
    const y = Buffer.from(epk.y!, 'base64url')
    y[0]! ^= 0x10
    expect(agree({ ...epk, y: y.toString('base64url') })).toBeUndefined()
    expect(agree({ ...epk, x: b64('00'.repeat(32)), y: b64('00'.repeat(32)) })).toBeUndefined()
    const p = 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff'
    expect(agree({ ...epk, x: b64(p) })).toBeUndefined()
    expect(agree({ ...epk, x: b64('ff'.repeat(32)) })).toBeUndefined()
  })

  it('X25519: refuses a y member and low-order points', () => {
    const agree = createKeyAgreement(jwk('X25519'))
    const epk = ephemeral('X25519').publicKey.export({ format: 'jwk' }) as Record<string, string>
    expect(agree({ ...epk, y: epk.x })).toBeUndefined()
    for (const hex of [
      '00'.repeat(32),
      `01${'00'.repeat(31)}`,
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      `ec${'ff'.repeat(30)}7f`,
    ]) {
      expect(agree({ ...epk, x: b64(hex) })).toBeUndefined()
    }
  })

  it('refuses keys that are not consistent P-256 or X25519 ECDH-ES+A256KW keys', () => {
    const p256 = jwk('P-256')
    const x25519 = jwk('X25519')
    const n = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'
    const bad: unknown[] = [
      null,
      'key',
      { ...p256, alg: 'ECDH-ES' },
      { ...p256, use: 'sig' },
      { ...p256, crv: 'X25519' },
      { ...x25519, kty: 'EC' },
      { ...p256, crv: 'P-384' },
      { ...p256, d: undefined },
      { ...p256, d: p256.d.slice(1) },
      { ...p256, d: `${p256.d}=` },
      { ...p256, d: b64(n) },
      { ...p256, d: b64('00'.repeat(32)) },
      { ...p256, x: jwk('P-256').x },
      { ...p256, y: undefined },
      { ...x25519, x: jwk('X25519').x },
      { ...x25519, y: x25519.x },
      { ...x25519, d: x25519.d.slice(2) },
    ]
    for (const key of bad) {
      expect(() => createKeyAgreement(key as KeyholePrivateJwk)).toThrow(
        expect.objectContaining({ code: 'invalid_key' }),
      )
    }
    // Without the optional alg and use members, a key is fine.
    const { alg: _a, use: _u, ...bare } = p256
    expect(typeof createKeyAgreement(bare as KeyholePrivateJwk)).toBe('function')
  })

  it('never puts key material in its error', () => {
    const key = jwk('P-256')
    try {
      createKeyAgreement({ ...key, x: jwk('P-256').x })
      expect.unreachable()
    } catch (error) {
      const text = `${String(error)} ${(error as Error).stack} ${JSON.stringify(error)}`
      expect(text).not.toContain(key.d)
      expect((error as Error).cause).toBeUndefined()
    }
  })
})
