// Direction 1: every token jose's CompactEncrypt makes (random claims, both curves, random keys,
// with and without apu/apv and extra header parameters) opens identically with the fast path.
import fc from 'fast-check'
import { CompactEncrypt } from 'jose'
import { describe, expect, it } from 'vitest'
import { decryptCompact } from '../../src/node/crypto/decrypt-compact.js'
import { prepareKey } from '../../src/node/crypto/prepare-key.js'
import { testKey } from '../kit/index.js'
import { JOSE_OPTIONS, joseVerdict } from './compare.js'

const jsonValue = fc.jsonValue({ maxDepth: 3 })
const claims = fc.record(
  {
    jti: fc.string({ minLength: 1, maxLength: 40 }),
    iat: fc.integer({ min: 0, max: 2 ** 31 }),
    exp: fc.integer({ min: 0, max: 2 ** 31 }),
    hosts: fc.array(fc.domain(), { minLength: 1, maxLength: 4 }),
    inject: fc.array(
      fc.record({
        in: fc.constantFrom('header', 'query', 'cookie'),
        name: fc.string(),
        value: fc.string({ unit: 'binary' }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    extra: fc.dictionary(fc.string(), jsonValue, { maxKeys: 5 }),
  },
  { requiredKeys: ['jti', 'iat', 'exp', 'hosts', 'inject'] },
)
// Names jose itself would interpret are left out; everything else is just carried along.
const headerExtras = fc.dictionary(
  fc
    .string({ minLength: 1, maxLength: 12 })
    .filter((k) => !['alg', 'enc', 'epk', 'apu', 'apv', 'zip', 'crit', '__proto__'].includes(k)),
  jsonValue,
  { maxKeys: 4 },
)
const partyInfo = fc.option(fc.uint8Array({ maxLength: 48 }), { nil: undefined })

for (const curve of ['P-256', 'X25519'] as const) {
  describe(`jose-made ${curve} tokens`, () => {
    it('open with the same header and plaintext as jose', async () => {
      let opened = 0
      await fc.assert(
        fc.asyncProperty(claims, headerExtras, partyInfo, partyInfo, async (payload, extras, apu, apv) => {
          fc.pre(!(apu && apv && Buffer.from(apu).equals(Buffer.from(apv))))
          const key = testKey(curve)
          const plaintext = new TextEncoder().encode(JSON.stringify(payload))
          const encrypt = new CompactEncrypt(plaintext).setProtectedHeader({
            ...extras,
            alg: 'ECDH-ES+A256KW',
            enc: 'A256GCM',
            kid: key.privateJwk.kid,
            typ: 'keyhole+jwt',
            hosts: payload.hosts,
          })
          if (apu || apv) encrypt.setKeyManagementParameters({ ...(apu && { apu }), ...(apv && { apv }) })
          const token = await encrypt.encrypt(key.publicJwk as never)
          const jose = await joseVerdict(token, key.privateJwk)
          expect(jose.ok).toBe(true)
          const fast = decryptCompact(token, key.privateJwk)
          if (!jose.ok) return
          expect(Buffer.from(fast.plaintext).equals(Buffer.from(jose.plaintext))).toBe(true)
          expect(Buffer.from(fast.plaintext).equals(Buffer.from(plaintext))).toBe(true)
          // Compared as serialized JSON: headers may carry names like "constructor" that confuse deep equality.
          expect(JSON.stringify(fast.protectedHeader)).toBe(JSON.stringify(jose.header))
          // The same token through a prepared key and through a resolver.
          const prepared = prepareKey(key.privateJwk)
          expect(Buffer.from(decryptCompact(token, prepared).plaintext).equals(Buffer.from(plaintext))).toBe(
            true,
          )
          const viaResolver = decryptCompact(token, (header) =>
            header.kid === prepared.kid ? prepared : undefined,
          )
          expect(Buffer.from(viaResolver.plaintext).equals(Buffer.from(plaintext))).toBe(true)
          opened++
        }),
        { numRuns: 150 },
      )
      expect(opened).toBeGreaterThan(100)
    })

    it('refuses a jose-made token under another key of the same curve, as jose does', async () => {
      await fc.assert(
        fc.asyncProperty(claims, async (payload) => {
          const key = testKey(curve)
          const other = testKey(curve)
          const token = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
            .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' })
            .encrypt(key.publicJwk as never)
          expect((await joseVerdict(token, other.privateJwk)).ok).toBe(false)
          expect(() => decryptCompact(token, other.privateJwk)).toThrow(
            expect.objectContaining({ code: 'invalid_token', message: 'invalid token' }),
          )
        }),
        { numRuns: 30 },
      )
    })
  })
}

it('uses the allow-lists keyhole gives jose', () => {
  expect(JOSE_OPTIONS.keyManagementAlgorithms).toEqual(['ECDH-ES+A256KW'])
  expect(JOSE_OPTIONS.contentEncryptionAlgorithms).toEqual(['A256GCM'])
})
