import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { craftJws, craftSignedToken, SECRET, validClaims } from '../../test/kit/index.js'
import { testIssuer, testIssuers } from '../../test/kit/issuer.js'
import { isKeyholeError, type KeyholeError } from '../errors.js'
import { generateKey } from '../keys/generate-key.js'
import { createKeyring } from '../keys/keyring.js'
import { type MintGrant, mint } from '../mint.js'
import type { Grant } from '../types.js'
import { createGrantCache, sha256TokenKey, type TokenKey } from './grant-cache.js'
import { createOpener } from './opener.js'

// Time is faked through the opener's and mint's `now` option (no global fake timers), so the
// cache is tested against exactly the clock the opener reads.
const start = 1_900_000_000_000

const grant: MintGrant = {
  hosts: ['api.example.com'],
  inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }],
  ttl: '10m',
}

async function failure(promise: Promise<unknown>): Promise<KeyholeError> {
  const err = await promise.then(
    () => undefined,
    (e) => e,
  )
  if (!isKeyholeError(err)) throw new Error(`expected a KeyholeError, got ${String(err)}`)
  return err
}

function fakeGrant(jti: string, exp: number): Grant {
  return { jti, iat: 0, exp, hosts: ['a.example'], inject: [], kid: 'k' }
}

describe('createGrantCache', () => {
  it('evicts the least recently used entry when full', () => {
    const cache = createGrantCache(2)
    cache.set('a', fakeGrant('a', 100))
    cache.set('b', fakeGrant('b', 100))
    expect(cache.get('a', 0)?.jti).toBe('a') // a is now the most recent
    cache.set('c', fakeGrant('c', 100))
    expect(cache.get('b', 0)).toBeUndefined()
    expect(cache.get('a', 0)?.jti).toBe('a')
    expect(cache.get('c', 0)?.jti).toBe('c')
    expect(cache.size).toBe(2)
  })

  it('never returns an entry at or past its exp, and drops it', () => {
    const cache = createGrantCache(10)
    cache.set('a', fakeGrant('a', 100))
    expect(cache.get('a', 99.999)?.jti).toBe('a')
    expect(cache.get('a', 100)).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('size 0 holds nothing', () => {
    const cache = createGrantCache(0)
    cache.set('a', fakeGrant('a', 100))
    expect(cache.get('a', 0)).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('deleteWhere drops matching entries', () => {
    const cache = createGrantCache(10)
    cache.set('a', fakeGrant('a', 100))
    cache.set('b', fakeGrant('b', 100))
    cache.deleteWhere((g) => g.jti === 'a')
    expect(cache.get('a', 0)).toBeUndefined()
    expect(cache.get('b', 0)?.jti).toBe('b')
  })

  it('keys by the SHA-256 of the token on Node: 32 one-byte characters, one per token', () => {
    const keyOf = sha256TokenKey()
    expect(keyOf).toBeTypeOf('function')
    const a = keyOf!('a'.repeat(730))!
    expect(a).toHaveLength(32)
    expect(/^[\x00-\xff]{32}$/.test(a)).toBe(true)
    expect(keyOf!('a'.repeat(730))).toBe(a)
    expect(keyOf!(`${'a'.repeat(729)}b`)).not.toBe(a)
    // The same function every time: detected once per process.
    expect(sha256TokenKey()).toBe(keyOf)
  })

  it.each([
    ['the token itself', null],
    ['its SHA-256', sha256TokenKey()],
  ] as const)('finds an entry only by the whole token, never by a part of it (keyed by %s)', (_, keyOf) => {
    const cache = createGrantCache(10, keyOf)
    const token = `${'h'.repeat(300)}.${'k'.repeat(54)}.${'i'.repeat(16)}.${'c'.repeat(300)}.${'t'.repeat(22)}`
    cache.set(token, fakeGrant('a', 100))
    expect(cache.get(token, 0)?.jti).toBe('a')
    // A fresh copy of the same characters (as each request's header value is) is found.
    expect(cache.get([...token].join(''), 0)?.jti).toBe('a')
    for (const at of [0, 299, 300, 400, token.length - 22, token.length - 1]) {
      const forged = `${token.slice(0, at)}${token[at] === 'x' ? 'y' : 'x'}${token.slice(at + 1)}`
      expect(cache.get(forged, 0)).toBeUndefined()
    }
    expect(cache.get(token.slice(0, -1), 0)).toBeUndefined()
    expect(cache.get(`${token}A`, 0)).toBeUndefined()
    expect(cache.get(token.slice(token.length - 22), 0)).toBeUndefined()
    expect(cache.size).toBe(1)
    cache.delete(`${token}A`)
    expect(cache.size).toBe(1)
    cache.delete(token)
    expect(cache.size).toBe(0)
  })

  it('never stores or finds a token that is not well formed UTF-16 when keying by digest', () => {
    // A lone surrogate hashes as U+FFFD would (UTF-8 replaces it), so such a string gets no key.
    const cache = createGrantCache(10, sha256TokenKey())
    cache.set('token\uFFFD', fakeGrant('replacement', 100))
    expect(cache.get('token\uD800', 0)).toBeUndefined()
    cache.set('token\uD800', fakeGrant('lone', 100))
    expect(cache.size).toBe(1)
    expect(cache.get('token\uD800', 0)).toBeUndefined()
    expect(cache.get('token\uFFFD', 0)?.jti).toBe('replacement')
    cache.delete('token\uD800')
    expect(cache.size).toBe(1)
  })

  it('asks keyOf for the key on get, set and delete; a token without a key is never stored', () => {
    const asked: string[] = []
    const keyOf: TokenKey = (token) => {
      asked.push(token)
      return token.startsWith('no') ? undefined : `k:${token}`
    }
    const cache = createGrantCache(10, keyOf)
    cache.set('a', fakeGrant('a', 100))
    cache.set('nope', fakeGrant('nope', 100))
    expect(cache.size).toBe(1)
    expect(cache.get('a', 0)?.jti).toBe('a')
    expect(cache.get('nope', 0)).toBeUndefined()
    cache.delete('a')
    expect(cache.size).toBe(0)
    expect(asked).toEqual(['a', 'nope', 'a', 'nope', 'a'])
  })

  it.each([
    ['the token itself', null],
    ['its SHA-256', sha256TokenKey()],
  ] as const)(
    'holds exactly what a reference LRU holds, through any mix of operations (keyed by %s)',
    (_, keyOf) => {
      // The reference: an array, least recently used first. Long runs with few distinct keys make
      // the cache evict, re-insert and delete many times over, as a busy proxy's cache does.
      const key = fc.integer({ min: 0, max: 12 })
      const op = fc.oneof(
        { arbitrary: fc.record({ kind: fc.constant('set' as const), key }), weight: 10 },
        { arbitrary: fc.record({ kind: fc.constant('get' as const), key }), weight: 10 },
        { arbitrary: fc.record({ kind: fc.constant('delete' as const), key }), weight: 3 },
        { arbitrary: fc.record({ kind: fc.constant('deleteOdd' as const) }), weight: 1 },
        { arbitrary: fc.record({ kind: fc.constant('clear' as const) }), weight: 1 },
      )
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 6 }),
          fc.array(op, { minLength: 20, maxLength: 300, size: 'max' }),
          (max, ops) => {
            const cache = createGrantCache(max, keyOf)
            let model: string[] = []
            for (const o of ops) {
              if (o.kind === 'clear') {
                cache.clear()
                model = []
                continue
              }
              if (o.kind === 'deleteOdd') {
                cache.deleteWhere((g) => Number(g.jti) % 2 === 1)
                model = model.filter((k) => Number(k) % 2 === 0)
                continue
              }
              const name = String(o.key)
              const at = model.indexOf(name)
              if (o.kind === 'set') {
                cache.set(name, fakeGrant(name, 100))
                if (at !== -1) model.splice(at, 1)
                else if (model.length >= max) model.shift()
                model.push(name)
              } else if (o.kind === 'get') {
                expect(cache.get(name, 0)?.jti).toBe(at === -1 ? undefined : name)
                if (at !== -1) model.push(...model.splice(at, 1))
              } else {
                cache.delete(name)
                if (at !== -1) model.splice(at, 1)
              }
              expect(cache.size).toBe(model.length)
              // Same keys in the same recency order (deleteWhere visits in the Map's order and,
              // refusing everything, changes nothing).
              const listed: string[] = []
              cache.deleteWhere((g) => {
                listed.push(g.jti)
                return false
              })
              expect(listed).toEqual(model)
            }
          },
        ),
        { numRuns: 300 },
      )
    },
  )
})

describe('the verified-grant cache inside the opener', () => {
  it('a hit returns the same grant without decrypting', async () => {
    const keyring = createKeyring([await generateKey()])
    const opener = createOpener({ keyring, issuers: testIssuers })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    const first = await opener.open(token)
    expect(opener.stats.decryptions).toBe(1)
    for (let i = 0; i < 10; i++) expect(await opener.open(token)).toBe(first)
    expect(opener.stats).toEqual({ decryptions: 1, cacheHits: 10, cacheSize: 1 })
  })

  it('32 concurrent opens of a new token decrypt once', async () => {
    const keyring = createKeyring([await generateKey()])
    const opener = createOpener({ keyring, issuers: testIssuers })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    const grants = await Promise.all(Array.from({ length: 32 }, () => opener.open(token)))
    expect(opener.stats.decryptions).toBe(1)
    expect(new Set(grants).size).toBe(1)
  })

  it('32 concurrent opens of a bad token decrypt once, all fail, and nothing is cached', async () => {
    const keyring = createKeyring([await generateKey()])
    const opener = createOpener({ keyring, issuers: testIssuers })
    const claims = validClaims()
    const bad = await craftSignedToken(
      keyring.publicJwks().keys[0]!,
      await craftJws({ ...claims, jti: undefined }, testIssuer),
    )
    const results = await Promise.allSettled(Array.from({ length: 32 }, () => opener.open(bad)))
    expect(results.every((r) => r.status === 'rejected' && isKeyholeError(r.reason, 'invalid_token'))).toBe(
      true,
    )
    expect(opener.stats.decryptions).toBe(1)
    expect(opener.stats.cacheSize).toBe(0)
    // The failure did not stay in the in-flight map: the next open decrypts again.
    expect((await failure(opener.open(bad))).code).toBe('invalid_token')
    expect(opener.stats.decryptions).toBe(2)
  })

  it('cacheSize 0 decrypts every time', async () => {
    const keyring = createKeyring([await generateKey()])
    const opener = createOpener({ keyring, issuers: testIssuers, cacheSize: 0 })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    await opener.open(token)
    await opener.open(token)
    expect(opener.stats).toEqual({ decryptions: 2, cacheHits: 0, cacheSize: 0 })
  })

  it('respects expiry: a cached grant is refused once the token expired', async () => {
    const keyring = createKeyring([await generateKey()])
    let now = start
    const opener = createOpener({ keyring, issuers: testIssuers, clockTolerance: 0, now: () => now })
    const token = await mint(
      { ...grant, ttl: 60 },
      { to: keyring.publicJwks(), signWith: testIssuer, now: () => now },
    )
    await opener.open(token)
    now = start + 59_000
    await opener.open(token)
    expect(opener.stats.cacheHits).toBe(1)
    now = start + 60_000
    expect((await failure(opener.open(token))).code).toBe('token_expired')
    expect(opener.stats.cacheSize).toBe(0)
  })

  it('an entry does not outlive exp even inside the clock tolerance', async () => {
    const keyring = createKeyring([await generateKey()])
    let now = start
    const opener = createOpener({ keyring, issuers: testIssuers, clockTolerance: '30s', now: () => now })
    const token = await mint(
      { ...grant, ttl: 60 },
      { to: keyring.publicJwks(), signWith: testIssuer, now: () => now },
    )
    await opener.open(token)
    now = start + 70_000 // past exp, within tolerance: still accepted, but decrypted afresh
    await opener.open(token)
    expect(opener.stats.decryptions).toBe(2)
    expect(opener.stats.cacheSize).toBe(0)
  })

  it('a token revoked after it was cached is refused', async () => {
    const keyring = createKeyring([await generateKey()])
    const opener = createOpener({ keyring, issuers: testIssuers })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    const { jti, exp } = await opener.open(token)
    await opener.open(token)
    expect(opener.stats.cacheHits).toBe(1)
    await opener.revocations.revoke(jti, new Date(exp * 1000))
    expect((await failure(opener.open(token))).code).toBe('token_revoked')
    expect(opener.stats.decryptions).toBe(1)
  })

  it('a not-yet-valid token is never answered from the cache as valid', async () => {
    const keyring = createKeyring([await generateKey()])
    let now = start
    const opener = createOpener({ keyring, issuers: testIssuers, clockTolerance: 0, now: () => now })
    const token = await mint(
      { ...grant, nbf: start / 1000 + 60 },
      { to: keyring.publicJwks(), signWith: testIssuer, now: () => now },
    )
    expect((await failure(opener.open(token))).code).toBe('token_not_yet_valid')
    expect((await failure(opener.open(token))).code).toBe('token_not_yet_valid')
    now = start + 60_000
    await expect(opener.open(token)).resolves.toBeTruthy()
    expect(opener.stats.decryptions).toBe(1)
  })

  it('stays within cacheSize', async () => {
    const keyring = createKeyring([await generateKey()])
    const opener = createOpener({ keyring, issuers: testIssuers, cacheSize: 3 })
    const tokens = await Promise.all(
      Array.from({ length: 5 }, () => mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })),
    )
    for (const token of tokens) await opener.open(token)
    expect(opener.stats.cacheSize).toBe(3)
    await opener.open(tokens[4]!)
    expect(opener.stats.decryptions).toBe(5)
    await opener.open(tokens[0]!)
    expect(opener.stats.decryptions).toBe(6)
  })

  it('a cached token with one character changed is not answered from the cache', async () => {
    const keyring = createKeyring([await generateKey()])
    const opener = createOpener({ keyring, issuers: testIssuers })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    await opener.open(token)
    const parts = token.split('.')
    const ciphertext = parts[3]!
    const flipped = `${ciphertext.slice(0, 10)}${ciphertext[10] === 'A' ? 'B' : 'A'}${ciphertext.slice(11)}`
    const forged = [...parts.slice(0, 3), flipped, parts[4]].join('.')
    expect((await failure(opener.open(forged))).code).toBe('invalid_token')
    expect(opener.stats.decryptions).toBe(2)
    expect(opener.stats.cacheHits).toBe(0)
    await opener.open(token)
    expect(opener.stats).toEqual({ decryptions: 2, cacheHits: 1, cacheSize: 1 })
  })

  it('clear() empties the cache', async () => {
    const keyring = createKeyring([await generateKey()])
    const opener = createOpener({ keyring, issuers: testIssuers })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    await opener.open(token)
    opener.clear()
    expect(opener.stats.cacheSize).toBe(0)
    await opener.open(token)
    expect(opener.stats.decryptions).toBe(2)
  })
})
