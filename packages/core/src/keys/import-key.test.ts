import { describe, expect, it } from 'vitest'
import { isKeyholeError, type KeyholeError } from '../errors.js'
import { exportKey } from './export-key.js'
import { generateKey } from './generate-key.js'
import { importKey } from './import-key.js'
import { toPublicJwk } from './jwk.js'

async function code(promise: Promise<unknown>): Promise<string> {
  const err = (await promise.then(
    () => undefined,
    (e) => e,
  )) as KeyholeError | undefined
  if (!isKeyholeError(err)) throw new Error(`expected a KeyholeError, got ${String(err)}`)
  return err.code
}

describe.each(['P-256', 'X25519'] as const)('import and export (%s)', (curve) => {
  it('round-trips a private key through JWK, JSON text and PEM (PKCS#8)', async () => {
    const key = await generateKey({ curve })
    const jwk = await exportKey(key)
    expect(jwk).toEqual(key)
    expect(Object.isFrozen(jwk)).toBe(false)
    expect(await importKey(JSON.stringify(jwk))).toEqual(key)
    const pem = await exportKey(key, { format: 'pem' })
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)
    expect(await importKey(pem, { expect: 'private' })).toEqual(key)
  })

  it('round-trips a public key through PEM (SPKI) and never invents a private member', async () => {
    const key = await generateKey({ curve })
    const pub = toPublicJwk(key)
    expect(pub).not.toHaveProperty('d')
    const pem = await exportKey(pub, { format: 'pem' })
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/)
    const back = await importKey(pem)
    expect(back).toEqual(pub)
    expect(back).not.toHaveProperty('d')
  })

  it('imports a bare JWK without kid/alg/use and sets them', async () => {
    const { kid: _k, alg: _a, use: _u, ...bare } = await generateKey({ curve })
    const key = await importKey(bare)
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(key).toMatchObject({ alg: 'ECDH-ES+A256KW', use: 'enc' })
  })

  it('expect: "public" returns the public half of a private key', async () => {
    const key = await generateKey({ curve })
    const pub = await importKey(key, { expect: 'public' })
    expect(pub).toEqual(toPublicJwk(key))
    expect(pub).not.toHaveProperty('d')
  })

  it('expect: "private" refuses a public key', async () => {
    const key = await generateKey({ curve })
    expect(await code(importKey(toPublicJwk(key), { expect: 'private' }))).toBe('invalid_key')
  })
})

describe('importKey refuses', () => {
  it('a kid that is not the thumbprint', async () => {
    const key = await generateKey()
    expect(await code(importKey({ ...key, kid: 'my-key-1' }))).toBe('invalid_key')
  })

  it('other algorithms, uses and curves', async () => {
    const key = await generateKey()
    expect(await code(importKey({ ...key, alg: 'RSA-OAEP' }))).toBe('invalid_key')
    expect(await code(importKey({ ...key, use: 'sig' }))).toBe('invalid_key')
    expect(await code(importKey({ ...key, crv: 'P-384' }))).toBe('invalid_key')
    expect(await code(importKey({ kty: 'oct', k: 'AAAA' }))).toBe('invalid_key')
    expect(await code(importKey({ kty: 'OKP', crv: 'X25519', x: key.x, y: key.y }))).toBe('invalid_key')
  })

  it('garbage, without quoting it in the message', async () => {
    const key = await generateKey()
    const broken = `{"d":"${key.d}", oops`
    const err = (await importKey(broken).catch((e) => e)) as KeyholeError
    expect(err.code).toBe('invalid_key')
    expect(err.message).not.toContain(key.d)
    expect(String(err.cause ?? '')).not.toContain(key.d)
    expect(await code(importKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'))).toBe(
      'invalid_key',
    )
    expect(await code(importKey('-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----'))).toBe(
      'invalid_key',
    )
    expect(await code(importKey('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'))).toBe(
      'invalid_key',
    )
  })

  it('a P-384 PEM', async () => {
    const { privateKey } = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-384' }, true, [
      'deriveBits',
    ])
    const der = new Uint8Array(await crypto.subtle.exportKey('pkcs8', privateKey))
    const pem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(der).toString('base64')}\n-----END PRIVATE KEY-----`
    expect(await code(importKey(pem))).toBe('invalid_key')
  })
})
