import { describe, expect, it } from 'vitest'
import { craftJws, craftSignedToken, SECRET, validClaims } from '../../test/kit/index.js'
import { testIssuer, testIssuers } from '../../test/kit/issuer.js'
import { attenuate } from '../attenuate.js'
import { isKeyholeError, type KeyholeError } from '../errors.js'
import { generateKey } from '../keys/generate-key.js'
import { toPublicJwk } from '../keys/jwk.js'
import { createKeyring } from '../keys/keyring.js'
import { type MintGrant, mint } from '../mint.js'
import { assertValidPolicy } from '../policy/validate-policy.js'
import { createMemoryStore } from '../revocation/memory-store.js'
import type { RevocationStore } from '../revocation/store.js'
import type { OpenInfo } from '../types.js'
import { createOpener } from './opener.js'

const grant: MintGrant = {
  hosts: ['api.example.com'],
  paths: ['/v1/**'],
  methods: ['GET'],
  inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }],
  ttl: '1h',
  sub: 'agent-1',
}

async function failure(promise: Promise<unknown>): Promise<KeyholeError> {
  const err = await promise.then(
    () => undefined,
    (e) => e,
  )
  if (!isKeyholeError(err)) throw new Error(`expected a KeyholeError, got ${String(err)}`)
  return err
}

describe.each(['P-256', 'X25519'] as const)('round trip (%s)', (curve) => {
  it('mints and opens, returning a deeply frozen grant', async () => {
    const keyring = createKeyring([await generateKey({ curve })])
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    const opened = await createOpener({ keyring, issuers: testIssuers }).open(token)
    expect(opened).toEqual({
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      iat: expect.any(Number),
      exp: expect.any(Number),
      hosts: grant.hosts,
      paths: grant.paths,
      methods: grant.methods,
      sub: 'agent-1',
      inject: grant.inject,
      kid: keyring.current.kid,
      issuerKid: testIssuer.kid,
    })
    expect(opened.exp - opened.iat).toBe(3600)
    expect(Object.isFrozen(opened)).toBe(true)
    expect(Object.isFrozen(opened.hosts)).toBe(true)
    expect(Object.isFrozen(opened.inject)).toBe(true)
    expect(Object.isFrozen(opened.inject[0])).toBe(true)
  })
})

describe('keyrings', () => {
  it('a token for key A opens with a keyring holding A and B, and not after retire(A)', async () => {
    const a = await generateKey()
    const token = await mint(grant, { to: toPublicJwk(a), signWith: testIssuer })
    const keyring = createKeyring([a, await generateKey({ curve: 'X25519' })])
    const opener = createOpener({ keyring, issuers: testIssuers, cacheSize: 0 })
    expect((await opener.open(token)).kid).toBe(a.kid)
    keyring.retire(a.kid)
    expect((await failure(opener.open(token))).code).toBe('invalid_token')
  })

  it('retire also stops a token that is in the verified-grant cache', async () => {
    const a = await generateKey()
    const keyring = createKeyring([a, await generateKey()])
    const token = await mint(grant, { to: toPublicJwk(a), signWith: testIssuer })
    const opener = createOpener({ keyring, issuers: testIssuers })
    await opener.open(token)
    expect(opener.stats.cacheSize).toBe(1)
    keyring.retire(a.kid)
    expect((await failure(opener.open(token))).code).toBe('invalid_token')
    expect(opener.stats.cacheSize).toBe(0)
  })

  it('a token for a key the keyring never held is invalid_token', async () => {
    const token = await mint(grant, { to: toPublicJwk(await generateKey()), signWith: testIssuer })
    const opener = createOpener({ keyring: createKeyring([await generateKey()]), issuers: testIssuers })
    expect((await failure(opener.open(token))).code).toBe('invalid_token')
  })

  it('a keyring key with a wrong kid surfaces as invalid_key (server misconfiguration)', async () => {
    const a = await generateKey()
    const b = await generateKey()
    // b's material under a's kid: tokens for a reach the import, which refuses the mismatch.
    const keyring = createKeyring([{ ...b, kid: a.kid }])
    const token = await mint(grant, { to: toPublicJwk(a), signWith: testIssuer })
    expect((await failure(createOpener({ keyring, issuers: testIssuers }).open(token))).code).toBe(
      'invalid_key',
    )
  })
})

describe('time', () => {
  const start = 1_900_000_000_000

  it('token_expired after exp + clockTolerance, not before', async () => {
    const keyring = createKeyring([await generateKey()])
    let now = start
    const token = await mint(
      { ...grant, ttl: 60 },
      { to: keyring.publicJwks(), signWith: testIssuer, now: () => now },
    )
    const opener = createOpener({
      keyring,
      issuers: testIssuers,
      clockTolerance: '10s',
      now: () => now,
      cacheSize: 0,
    })
    now = start + 69_000
    await expect(opener.open(token)).resolves.toBeTruthy()
    now = start + 70_000
    expect((await failure(opener.open(token))).code).toBe('token_expired')
  })

  it('token_not_yet_valid before nbf - clockTolerance', async () => {
    const keyring = createKeyring([await generateKey()])
    let now = start
    const token = await mint(
      { ...grant, nbf: start / 1000 + 120 },
      { to: keyring.publicJwks(), signWith: testIssuer, now: () => now },
    )
    const opener = createOpener({ keyring, issuers: testIssuers, clockTolerance: '30s', now: () => now })
    expect((await failure(opener.open(token))).code).toBe('token_not_yet_valid')
    now = start + 89_000
    expect((await failure(opener.open(token))).code).toBe('token_not_yet_valid')
    now = start + 90_000
    await expect(opener.open(token)).resolves.toBeTruthy()
  })

  it('token_not_yet_valid when iat is in the future beyond the tolerance', async () => {
    const keyring = createKeyring([await generateKey()])
    const token = await mint(grant, {
      to: keyring.publicJwks(),
      signWith: testIssuer,
      now: () => start + 60_000,
    })
    const opener = createOpener({ keyring, issuers: testIssuers, clockTolerance: '30s', now: () => start })
    expect((await failure(opener.open(token))).code).toBe('token_not_yet_valid')
    const tolerant = createOpener({ keyring, issuers: testIssuers, clockTolerance: '61s', now: () => start })
    await expect(tolerant.open(token)).resolves.toBeTruthy()
  })

  it('a lifetime over maxTtl is invalid_token', async () => {
    const keyring = createKeyring([await generateKey()])
    const token = await mint({ ...grant, ttl: '2h' }, { to: keyring.publicJwks(), signWith: testIssuer })
    expect(
      (await failure(createOpener({ keyring, issuers: testIssuers, maxTtl: '1h' }).open(token))).code,
    ).toBe('invalid_token')
    await expect(
      createOpener({ keyring, issuers: testIssuers, maxTtl: '2h' }).open(token),
    ).resolves.toBeTruthy()
  })
})

describe('audience and issuer', () => {
  it('requires a matching aud when the opener has an audience', async () => {
    const keyring = createKeyring([await generateKey()])
    const forA = await mint(
      { ...grant, aud: ['proxy-a', 'proxy-b'] },
      { to: keyring.publicJwks(), signWith: testIssuer },
    )
    const none = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    await expect(
      createOpener({ keyring, issuers: testIssuers, audience: 'proxy-b' }).open(forA),
    ).resolves.toBeTruthy()
    expect(
      (await failure(createOpener({ keyring, issuers: testIssuers, audience: 'proxy-c' }).open(forA))).code,
    ).toBe('invalid_token')
    expect(
      (await failure(createOpener({ keyring, issuers: testIssuers, audience: 'proxy-a' }).open(none))).code,
    ).toBe('invalid_token')
    await expect(createOpener({ keyring, issuers: testIssuers }).open(forA)).resolves.toBeTruthy()
  })

  it('requires a matching iss when the opener has an issuer', async () => {
    const keyring = createKeyring([await generateKey()])
    const token = await mint({ ...grant, iss: 'ci' }, { to: keyring.publicJwks(), signWith: testIssuer })
    await expect(
      createOpener({ keyring, issuers: testIssuers, issuer: ['ci', 'ops'] }).open(token),
    ).resolves.toBeTruthy()
    expect(
      (await failure(createOpener({ keyring, issuers: testIssuers, issuer: 'ops' }).open(token))).code,
    ).toBe('invalid_token')
  })
})

describe('revocation', () => {
  it('token_revoked once the jti is revoked, using the default memory store', async () => {
    const keyring = createKeyring([await generateKey()])
    const opener = createOpener({ keyring, issuers: testIssuers })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    const opened = await opener.open(token)
    await opener.revocations.revoke(opened.jti, new Date(opened.exp * 1000))
    expect((await failure(opener.open(token))).code).toBe('token_revoked')
  })

  it('uses the store it is given', async () => {
    const keyring = createKeyring([await generateKey()])
    const revocations = createMemoryStore({ sweepInterval: false })
    const opener = createOpener({ keyring, issuers: testIssuers, revocations })
    expect(opener.revocations).toBe(revocations)
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    const { jti, exp } = await opener.open(token)
    await revocations.revoke(jti, new Date(exp * 1000))
    expect((await failure(opener.open(token))).code).toBe('token_revoked')
  })

  const failing: RevocationStore = {
    isRevoked: async () => {
      throw new Error('connection refused')
    },
    revoke: async () => {},
  }
  const throwingSync: RevocationStore = {
    isRevoked: () => {
      throw new Error('sync failure')
    },
    revoke: async () => {},
  }
  const slow: RevocationStore = {
    isRevoked: () => new Promise((resolve) => setTimeout(() => resolve(true), 1000).unref()),
    revoke: async () => {},
  }

  it.each([
    ['rejects', failing],
    ['throws synchronously', throwingSync],
    ['is slower than revocationTimeout', slow],
  ])('revocation_unavailable when the store %s, unless failOpen', async (_name, revocations) => {
    const keyring = createKeyring([await generateKey()])
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    const closed = createOpener({ keyring, issuers: testIssuers, revocations, revocationTimeout: 0.05 })
    const err = await failure(closed.open(token))
    expect(err.code).toBe('revocation_unavailable')
    expect(err.status).toBe(503)
    // The grant was verified and cached; a second try still asks the store and still fails.
    expect((await failure(closed.open(token))).code).toBe('revocation_unavailable')
    const open = createOpener({
      keyring,
      issuers: testIssuers,
      revocations,
      revocationTimeout: 0.05,
      failOpen: true,
    })
    await expect(open.open(token)).resolves.toBeTruthy()
  })

  it('asks a store that is not in memory about every id of a layered token at once', async () => {
    const keyring = createKeyring([await generateKey()])
    const signed = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    const twice = await attenuate(
      await attenuate(signed, { methods: ['GET'] }, { to: keyring.publicJwks() }),
      {},
      {
        to: keyring.publicJwks(),
      },
    )
    let inFlight = 0
    let most = 0
    const asked: string[] = []
    // Never answers: with failOpen, each id waiting in turn would cost one timeout per id.
    const hung: RevocationStore = {
      isRevoked: (jti) => {
        asked.push(jti)
        most = Math.max(most, ++inFlight)
        return new Promise(() => {})
      },
      revoke: async () => {},
    }
    const opener = createOpener({
      keyring,
      issuers: testIssuers,
      revocations: hung,
      revocationTimeout: 0.05,
      failOpen: true,
    })
    const opened = await opener.open(twice)
    // Two layers, the grant, and the issuer's revocation id, all in flight together.
    expect(asked).toHaveLength(4)
    expect(most).toBe(4)
    expect(asked).toEqual(expect.arrayContaining([...(opened.chain ?? []), `issuer:${testIssuer.kid}`]))
    const closed = createOpener({ keyring, issuers: testIssuers, revocations: hung, revocationTimeout: 0.05 })
    expect((await failure(closed.open(twice))).code).toBe('revocation_unavailable')
  })

  it('waits for a store that answers later than a few microtasks but within the timeout', async () => {
    const keyring = createKeyring([await generateKey()])
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    for (const delay of ['microtasks', 'timer'] as const) {
      const late: RevocationStore = {
        isRevoked: async () => {
          if (delay === 'timer') await new Promise((resolve) => setTimeout(resolve, 20))
          else for (let i = 0; i < 50; i++) await undefined
          return true
        },
        revoke: async () => {},
      }
      const opener = createOpener({
        keyring,
        issuers: testIssuers,
        revocations: late,
        revocationTimeout: '1s',
      })
      expect((await failure(opener.open(token))).code).toBe('token_revoked')
    }
  })

  it('takes a store that answers synchronously, with and without a timeout', async () => {
    const keyring = createKeyring([await generateKey()])
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    const revoked = new Set<string>()
    const sync: RevocationStore = {
      isRevoked: (jti) => revoked.has(jti),
      revoke: async (jti) => {
        revoked.add(jti)
      },
    }
    for (const revocationTimeout of ['1s', 0] as const) {
      revoked.clear()
      const opener = createOpener({ keyring, issuers: testIssuers, revocations: sync, revocationTimeout })
      const { jti } = await opener.open(token)
      await sync.revoke(jti, new Date(Date.now() + 60_000))
      expect((await failure(opener.open(token))).code).toBe('token_revoked')
    }
  })

  it('consults the store on every open, cache hits included', async () => {
    const keyring = createKeyring([await generateKey()])
    const asked: string[] = []
    const counting: RevocationStore = {
      isRevoked: async (id) => {
        asked.push(id)
        return false
      },
      revoke: async () => {},
    }
    const opener = createOpener({ keyring, issuers: testIssuers, revocations: counting })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    let jti = ''
    for (let i = 0; i < 5; i++) jti = (await opener.open(token)).jti
    // A signed grant is checked twice per open: its jti, then its issuer (`issuer:<kid>`).
    expect(asked).toEqual(Array.from({ length: 5 }, () => [jti, `issuer:${testIssuer.kid}`]).flat())
    expect(opener.stats.decryptions).toBe(1)
  })
})

describe('OpenInfo and options', () => {
  it('fills info on miss and hit', async () => {
    const keyring = createKeyring([await generateKey()])
    const opener = createOpener({ keyring, issuers: testIssuers })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    const info: OpenInfo = { cacheHit: true, openMs: -1, revocationMs: -1 }
    await opener.open(token, info)
    expect(info.cacheHit).toBe(false)
    expect(info.openMs).toBeGreaterThan(0)
    expect(info.revocationMs).toBeGreaterThanOrEqual(0)
    await opener.open(token, info)
    expect(info.cacheHit).toBe(true)
    expect(info.openMs).toBe(0)
  })

  it('reports a cached grant as a hit when the store then fails (an outage is not a re-open)', async () => {
    const keyring = createKeyring([await generateKey()])
    let down = false
    const revocations = {
      isRevoked: async () => {
        if (down) throw new Error('store down')
        return false
      },
      revoke: async () => {},
    }
    const opener = createOpener({ keyring, issuers: testIssuers, revocations })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    await opener.open(token)
    down = true
    const info: OpenInfo = { cacheHit: false, openMs: -1, revocationMs: -1 }
    await expect(opener.open(token, info)).rejects.toMatchObject({ code: 'revocation_unavailable' })
    expect(info).toMatchObject({ cacheHit: true, openMs: 0 })
    expect(info.revocationMs).toBeGreaterThanOrEqual(0)
    expect(opener.stats).toMatchObject({ decryptions: 1, cacheHits: 1 })
  })

  it('refuses nonsense options', async () => {
    const keyring = createKeyring([await generateKey()])
    expect(() => createOpener({ keyring, issuers: testIssuers, cacheSize: -1 })).toThrow(
      expect.objectContaining({ code: 'bad_request' }),
    )
    expect(() => createOpener({ keyring, issuers: testIssuers, maxTokenBytes: 0 })).toThrow(
      expect.objectContaining({ code: 'bad_request' }),
    )
    // biome-ignore lint/suspicious/noExplicitAny: a missing keyring on purpose
    expect(() => createOpener({} as any)).toThrow(expect.objectContaining({ code: 'bad_request' }))
  })

  it('non-string tokens are invalid_token', async () => {
    const opener = createOpener({ keyring: createKeyring([await generateKey()]), issuers: testIssuers })
    for (const token of [undefined, null, 42, {}, ['a.b.c.d.e'], '']) {
      // biome-ignore lint/suspicious/noExplicitAny: wrong types on purpose
      expect((await failure(opener.open(token as any))).code).toBe('invalid_token')
    }
  })
})

describe('the decrypt option', () => {
  it('replaces only the decryption: header checks run before it, claims checks after it', async () => {
    const key = await generateKey()
    const keyring = createKeyring([key])
    const calls: string[] = []
    const opener = createOpener({
      keyring,
      issuers: testIssuers,
      cacheSize: 0,
      decrypt: async (token, privateJwk) => {
        calls.push(privateJwk.kid)
        const { compactDecrypt, importJWK } = await import('jose')
        const { kid: _k, alg: _a, use: _u, ...material } = privateJwk
        return (await compactDecrypt(token, await importJWK(material, 'ECDH-ES+A256KW'))).plaintext
      },
    })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    expect((await opener.open(token)).kid).toBe(key.kid)
    expect(calls).toEqual([key.kid])
    // A token for an unknown key never reaches the decryptor.
    const foreign = await mint(grant, { to: toPublicJwk(await generateKey()), signWith: testIssuer })
    expect((await failure(opener.open(foreign))).code).toBe('invalid_token')
    expect(calls).toHaveLength(1)
  })

  it('a throwing decryptor or one returning garbage gives invalid_token', async () => {
    const keyring = createKeyring([await generateKey()])
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    const throwing = createOpener({
      keyring,
      issuers: testIssuers,
      decrypt: () => {
        throw new Error(`decryption failed for ${token}`)
      },
    })
    const err = await failure(throwing.open(token))
    expect(err.code).toBe('invalid_token')
    expect(err.message).not.toContain(token)
    const garbage = createOpener({
      keyring,
      issuers: testIssuers,
      decrypt: () => new TextEncoder().encode('{"jti":"x"}'),
    })
    expect((await failure(garbage.open(token))).code).toBe('invalid_token')
    // biome-ignore lint/suspicious/noExplicitAny: a wrong return type on purpose
    const notBytes = createOpener({ keyring, issuers: testIssuers, decrypt: () => '{}' as any })
    expect((await failure(notBytes.open(token))).code).toBe('invalid_token')
  })
})

describe('policy checks at open', () => {
  it('a crafted grant opens exactly when assertValidPolicy accepts its policy', async () => {
    const key = await generateKey()
    const keyring = createKeyring([key])
    const opener = createOpener({ keyring, issuers: testIssuers, cacheSize: 0 })
    const hostCases = [
      'api.example.com',
      '*.example.com',
      'http://127.0.0.1:8080',
      'HTTPS://a.b',
      'a b',
      'x/y',
      '',
    ]
    const hostCases2 = ['ftp://a.b', '[::1]:99', 'bücher.example', 'a.b:99999', '*', 'a..b', '-a.b']
    const pathCases = ['/v1/**', '/repos/*/x', 'relative', '/a/../b', '', '/%2F']
    const methodCases = ['GET', 'get', 'TRACE', '']
    let opened = 0
    for (const host of [...hostCases, ...hostCases2]) {
      for (const paths of [undefined, ...pathCases.map((p) => [p])]) {
        for (const methods of [undefined, ...methodCases.map((m) => [m])]) {
          const claims = {
            ...validClaims(),
            hosts: [host],
            ...(paths && { paths }),
            ...(methods && { methods }),
          }
          let valid = true
          try {
            assertValidPolicy(claims)
          } catch {
            valid = false
          }
          const token = await craftSignedToken(toPublicJwk(key), await craftJws(claims, testIssuer), [host])
          const outcome = await opener.open(token).then(
            (g) => g,
            (e: KeyholeError) => e.code,
          )
          if (valid) {
            expect(typeof outcome).toBe('object')
            opened++
          } else {
            expect(outcome).toBe('invalid_token')
          }
        }
      }
    }
    expect(opened).toBeGreaterThan(10)
  })
})
