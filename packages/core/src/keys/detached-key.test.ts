import { describe, expect, it } from 'vitest'
import { detachedKey } from './detached-key.js'

describe('detachedKey', () => {
  for (const algorithm of [{ name: 'X25519' }, { name: 'ECDH', namedCurve: 'P-256' }] as const) {
    it(`${algorithm.name}: a distinct key with the same material, algorithm, usages and extractability`, async () => {
      const pair = (await crypto.subtle.generateKey(algorithm, true, ['deriveBits'])) as CryptoKeyPair
      const copy = await detachedKey(pair.privateKey)
      expect(copy).not.toBe(pair.privateKey)
      expect(copy.type).toBe('private')
      expect(copy.extractable).toBe(true)
      expect(copy.usages).toEqual(pair.privateKey.usages)
      expect(copy.algorithm).toEqual(pair.privateKey.algorithm)
      expect(Buffer.from(await crypto.subtle.exportKey('pkcs8', copy))).toEqual(
        Buffer.from(await crypto.subtle.exportKey('pkcs8', pair.privateKey)),
      )
      // It agrees with the generated public half exactly as the original does.
      const bits = (key: CryptoKey) =>
        crypto.subtle.deriveBits({ name: algorithm.name, public: pair.publicKey }, key, 256)
      expect(Buffer.from(await bits(copy))).toEqual(Buffer.from(await bits(pair.privateKey)))
      const publicCopy = await detachedKey(pair.publicKey)
      expect(publicCopy.type).toBe('public')
      expect(Buffer.from(await crypto.subtle.exportKey('spki', publicCopy))).toEqual(
        Buffer.from(await crypto.subtle.exportKey('spki', pair.publicKey)),
      )
    })
  }
})
