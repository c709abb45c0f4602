import { compactDecrypt, decodeProtectedHeader, importJWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jsonAnswer, SECRET, startUpstream, type Upstream } from '../test/kit/index.js'
import { isKeyholeError, type KeyholeError } from './errors.js'
import { clearJwksCache } from './fetch-jwks.js'
import { generateKey } from './keys/generate-key.js'
import { toPublicJwk } from './keys/jwk.js'
import { type MintGrant, mint, mintDetailed } from './mint.js'
import type { KeyholePrivateJwk } from './types.js'

const grant: MintGrant = {
  hosts: ['api.example.com', '*.example.org'],
  paths: ['/v1/**'],
  methods: ['GET', 'POST'],
  inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }],
  ttl: '1h',
  sub: 'agent-7',
}

async function decrypt(token: string, key: KeyholePrivateJwk): Promise<Record<string, unknown>> {
  const { kid: _k, alg: _a, use: _u, ...material } = key
  const { plaintext } = await compactDecrypt(token, await importJWK(material, 'ECDH-ES+A256KW'))
  return JSON.parse(new TextDecoder().decode(plaintext))
}

async function failure(promise: Promise<unknown>): Promise<KeyholeError> {
  const err = await promise.then(
    () => undefined,
    (e) => e,
  )
  if (!isKeyholeError(err)) throw new Error(`expected a KeyholeError, got ${String(err)}`)
  return err
}

let key: KeyholePrivateJwk
// Serves the JWKS of `key` and records every fetch.
let jwks: Upstream
let jwksUrl: string

beforeAll(async () => {
  key = await generateKey()
  jwks = await startUpstream({ answer: jsonAnswer(() => ({ keys: [toPublicJwk(key)] })) })
  jwksUrl = `${jwks.origin}/.well-known/jwks.json`
})

afterAll(() => jwks.close())

describe('mint', () => {
  it('writes keyhole’s protected header with a copy of hosts', async () => {
    const token = await mint(grant, { to: toPublicJwk(key) })
    const header = decodeProtectedHeader(token)
    expect(header).toMatchObject({
      alg: 'ECDH-ES+A256KW',
      enc: 'A256GCM',
      kid: key.kid,
      typ: 'keyhole+jwt',
      hosts: grant.hosts,
    })
    expect(Object.keys(header).sort()).toEqual(['alg', 'enc', 'epk', 'hosts', 'kid', 'typ'])
    expect(token).not.toContain(SECRET)
  })

  it('encrypts exactly the documented claims', async () => {
    const now = 1_800_000_000_000
    const claims = await decrypt(
      await mint(
        { ...grant, aud: 'proxy-a', iss: 'ci', nbf: new Date(now + 60_000) },
        { to: toPublicJwk(key), now: () => now },
      ),
      key,
    )
    expect(claims).toEqual({
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      iat: 1_800_000_000,
      exp: 1_800_003_600,
      nbf: 1_800_000_060,
      iss: 'ci',
      aud: 'proxy-a',
      sub: 'agent-7',
      hosts: grant.hosts,
      paths: grant.paths,
      methods: grant.methods,
      inject: grant.inject,
    })
  })

  it('gives every token a fresh 128-bit jti', async () => {
    const tokens = await Promise.all(Array.from({ length: 20 }, () => mint(grant, { to: toPublicJwk(key) })))
    const jtis = new Set(await Promise.all(tokens.map(async (t) => (await decrypt(t, key)).jti)))
    expect(jtis.size).toBe(20)
  })

  it('copies only in/name/value of each injection', async () => {
    const extra = { in: 'header', name: 'X-Api-Key', value: 'v', note: 'should not travel' } as const
    const claims = await decrypt(await mint({ ...grant, inject: [extra] }, { to: toPublicJwk(key) }), key)
    expect(claims.inject).toEqual([{ in: 'header', name: 'X-Api-Key', value: 'v' }])
  })

  it('encrypts exactly what it validated, even if a getter changes its answer', async () => {
    let reads = 0
    const sneaky = {
      in: 'header' as const,
      name: 'X-Api-Key',
      get value() {
        reads++
        return reads === 1 ? 'validated' : 'evil\r\nHost: attacker.example'
      },
    }
    const claims = await decrypt(await mint({ ...grant, inject: [sneaky] }, { to: toPublicJwk(key) }), key)
    expect(claims.inject).toEqual([{ in: 'header', name: 'X-Api-Key', value: 'validated' }])
    expect(reads).toBe(1)
  })

  it('encrypts to the newest key with use "enc" of a JWKS (the last one)', async () => {
    const older = toPublicJwk(await generateKey())
    const newest = toPublicJwk(await generateKey({ curve: 'X25519' }))
    const signing = { kty: 'EC', crv: 'P-256', x: older.x, y: older.y, use: 'sig', kid: 'sig-key' }
    // biome-ignore lint/suspicious/noExplicitAny: a foreign key in the set on purpose
    const token = await mint(grant, { to: { keys: [older, newest, signing as any] } })
    expect(decodeProtectedHeader(token).kid).toBe(newest.kid)
  })

  it('fails with invalid_key when a JWKS has no usable key', async () => {
    const pub = toPublicJwk(await generateKey())
    expect((await failure(mint(grant, { to: { keys: [] } }))).code).toBe('invalid_key')
    // biome-ignore lint/suspicious/noExplicitAny: a key with the wrong use
    expect((await failure(mint(grant, { to: { keys: [{ ...pub, use: 'sig' } as any] } }))).code).toBe(
      'invalid_key',
    )
  })

  it('refuses a recipient whose kid is not its thumbprint', async () => {
    const pub = { ...toPublicJwk(await generateKey()), kid: 'custom' }
    expect((await failure(mint(grant, { to: pub }))).code).toBe('invalid_key')
  })

  it('uses only the public half of a private key given as recipient', async () => {
    const token = await mint(grant, { to: key })
    expect(token).not.toContain(key.d)
    expect(JSON.stringify(decodeProtectedHeader(token))).not.toContain(key.d)
    expect((await decrypt(token, key)).hosts).toEqual(grant.hosts)
  })

  it('fetches a JWKS URL from a real server once and caches it', async () => {
    clearJwksCache()
    jwks.received.splice(0)
    const a = await mint(grant, { to: jwksUrl })
    const b = await mint(grant, { to: new URL(jwksUrl) })
    expect(decodeProtectedHeader(a).kid).toBe(key.kid)
    expect(decodeProtectedHeader(b).kid).toBe(key.kid)
    expect(jwks.received.length).toBe(1)
  })
})

describe('mint validates everything before encrypting or fetching', () => {
  const bad: Array<[string, Record<string, unknown>]> = [
    ['no hosts', { hosts: [] }],
    ['a malformed host pattern', { hosts: ['api.*.example.com'] }],
    ['empty paths', { paths: [] }],
    ['a malformed path', { paths: ['no-leading-slash'] }],
    ['lower-case methods', { methods: ['get'] }],
    ['no inject', { inject: [] }],
    [
      'CR/LF in a header value',
      { inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}\r\nX: y` }] },
    ],
    ['NUL in a query value', { inject: [{ in: 'query', name: 'key', value: `${SECRET}\0` }] }],
    ['a forbidden header', { inject: [{ in: 'header', name: 'Host', value: SECRET }] }],
    ['ttl 0', { ttl: 0 }],
    ['ttl over the maximum', { ttl: '25h' }],
    ['a malformed ttl', { ttl: 'soon' }],
    ['an unknown field', { method: ['GET'] }],
    ['an empty sub', { sub: '' }],
    ['an empty aud list', { aud: [] }],
    ['nbf after expiry', { nbf: new Date(Date.now() + 2 * 3600_000) }],
    ['nbf not a date', { nbf: 'tomorrow' }],
  ]

  it.each(bad)('%s -> invalid_grant, no JWKS fetched, no secret in the message', async (_name, change) => {
    clearJwksCache()
    jwks.received.splice(0)
    const err = await failure(mint({ ...grant, ...change } as MintGrant, { to: jwksUrl }))
    expect(err.code).toBe('invalid_grant')
    expect(jwks.received.length).toBe(0)
    expect(err.message).not.toContain(SECRET)
    expect(JSON.stringify(err.cause ?? null)).not.toContain(SECRET)
  })

  it('honours a larger maxTtl', async () => {
    const token = await mint({ ...grant, ttl: '7d' }, { to: toPublicJwk(key), maxTtl: '30d' })
    const claims = await decrypt(token, key)
    expect((claims.exp as number) - (claims.iat as number)).toBe(7 * 86400)
  })

  it('needs a recipient', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: missing option on purpose
    expect((await failure(mint(grant, {} as any))).code).toBe('bad_request')
  })
})

describe('mintDetailed', () => {
  it('returns the jti, iat and exp that the token itself carries', async () => {
    const key = await generateKey()
    const minted = await mintDetailed(
      {
        hosts: ['api.example.com'],
        inject: [{ in: 'header', name: 'X-Api-Key', value: SECRET }],
        ttl: '10m',
      },
      { to: toPublicJwk(key) },
    )
    const { plaintext } = await compactDecrypt(minted.token, await importJWK(key, 'ECDH-ES+A256KW'))
    const claims = JSON.parse(new TextDecoder().decode(plaintext))
    expect({ jti: minted.jti, iat: minted.iat, exp: minted.exp }).toEqual({
      jti: claims.jti,
      iat: claims.iat,
      exp: claims.exp,
    })
    expect(minted.exp - minted.iat).toBe(600)
  })
})
