import { describe, expect, it } from 'vitest'
import { isKeyholeError } from '../errors.js'
import { generateKey } from './generate-key.js'
import { createKeyring } from './keyring.js'

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv']

describe('createKeyring', () => {
  it('the newest key is current and last in publicJwks()', async () => {
    const a = await generateKey()
    const b = await generateKey({ curve: 'X25519' })
    const keyring = createKeyring([a, b])
    expect(keyring.current.kid).toBe(b.kid)
    expect(keyring.kids()).toEqual([a.kid, b.kid])
    expect(keyring.publicJwks().keys.map((k) => k.kid)).toEqual([a.kid, b.kid])
    const c = await generateKey()
    keyring.add(c)
    expect(keyring.current.kid).toBe(c.kid)
    expect(keyring.publicJwks().keys.at(-1)?.kid).toBe(c.kid)
  })

  it('publicJwks() never contains a private member, also after add and retire', async () => {
    const keyring = createKeyring([await generateKey(), await generateKey({ curve: 'X25519' })])
    const check = () => {
      const jwks = keyring.publicJwks()
      const text = JSON.stringify(jwks)
      for (const kid of keyring.kids()) expect(text).not.toContain(keyring.get(kid)!.d)
      for (const key of jwks.keys) {
        for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member)
        expect(key).toMatchObject({ alg: 'ECDH-ES+A256KW', use: 'enc' })
      }
      expect(jwks.keys.length).toBe(keyring.kids().length)
    }
    check()
    keyring.add(await generateKey())
    check()
    keyring.retire(keyring.kids()[0]!)
    check()
  })

  it('publicJwks() is frozen, so a caller cannot corrupt the next answer', async () => {
    const keyring = createKeyring([await generateKey()])
    const jwks = keyring.publicJwks()
    expect(Object.isFrozen(jwks)).toBe(true)
    expect(Object.isFrozen(jwks.keys)).toBe(true)
    expect(Object.isFrozen(jwks.keys[0])).toBe(true)
  })

  it('accepts a private key set { keys }', async () => {
    const a = await generateKey()
    expect(createKeyring({ keys: [a] }).current.kid).toBe(a.kid)
  })

  it('retire removes a key, bumps the revision, and moves current back', async () => {
    const a = await generateKey()
    const b = await generateKey()
    const keyring = createKeyring([a, b])
    const revision = keyring.revision
    expect(keyring.retire(b.kid)).toBe(true)
    expect(keyring.revision).toBeGreaterThan(revision)
    expect(keyring.has(b.kid)).toBe(false)
    expect(keyring.get(b.kid)).toBeUndefined()
    expect(keyring.cryptoKey(b.kid)).toBeUndefined()
    expect(keyring.current.kid).toBe(a.kid)
    expect(keyring.retire('unknown')).toBe(false)
  })

  it('refuses to retire the last key, an empty ring, duplicates and public keys', async () => {
    const a = await generateKey()
    const keyring = createKeyring([a])
    expect(() => keyring.retire(a.kid)).toThrow(expect.objectContaining({ code: 'invalid_key' }))
    expect(() => createKeyring([])).toThrow(expect.objectContaining({ code: 'invalid_key' }))
    expect(() => keyring.add(a)).toThrow(expect.objectContaining({ code: 'invalid_key' }))
    const { d: _d, ...pub } = a
    // biome-ignore lint/suspicious/noExplicitAny: a public key where a private one belongs
    expect(() => createKeyring([pub as any])).toThrow(expect.objectContaining({ code: 'invalid_key' }))
  })

  it('imports each CryptoKey once and keeps it non-extractable', async () => {
    const a = await generateKey()
    const keyring = createKeyring([a])
    const first = keyring.cryptoKey(a.kid)
    expect(keyring.cryptoKey(a.kid)).toBe(first)
    const key = await first!
    expect(key.type).toBe('private')
    expect(key.extractable).toBe(false)
  })

  it('a key whose kid is not its thumbprint fails with invalid_key when used', async () => {
    const a = await generateKey()
    const keyring = createKeyring([{ ...a, kid: 'not-the-thumbprint' }])
    const err = await keyring.cryptoKey('not-the-thumbprint')!.catch((e) => e)
    expect(isKeyholeError(err, 'invalid_key')).toBe(true)
  })
})
