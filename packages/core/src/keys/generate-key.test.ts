import { calculateJwkThumbprint } from 'jose'
import { describe, expect, it } from 'vitest'
import { isKeyholeError } from '../errors.js'
import { generateKey } from './generate-key.js'

describe('generateKey', () => {
  it('makes a P-256 key by default with kid = RFC 7638 thumbprint, alg and use', async () => {
    const key = await generateKey()
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', use: 'enc' })
    expect(key.x).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(key.y).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(key.d).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(key.kid).toBe(await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: key.x, y: key.y }))
    expect(Object.isFrozen(key)).toBe(true)
  })

  it('makes an X25519 key on request', async () => {
    const key = await generateKey({ curve: 'X25519' })
    expect(key).toMatchObject({ kty: 'OKP', crv: 'X25519', alg: 'ECDH-ES+A256KW', use: 'enc' })
    expect(key.y).toBeUndefined()
    expect(key.kid).toBe(await calculateJwkThumbprint({ kty: 'OKP', crv: 'X25519', x: key.x }))
  })

  it('makes a different key every time', async () => {
    const [a, b] = await Promise.all([generateKey(), generateKey()])
    expect(a.kid).not.toBe(b.kid)
    expect(a.d).not.toBe(b.d)
  })

  it('refuses other curves with invalid_key', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: an unsupported curve on purpose
    const err = await generateKey({ curve: 'P-384' as any }).catch((e) => e)
    expect(isKeyholeError(err, 'invalid_key')).toBe(true)
  })
})
