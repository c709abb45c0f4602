// The token attacked, at the opener: every single-character edit at every position of every
// segment, re-encodings, header edits, foreign keys, huge and nested JSON, duplicate members,
// prototype names and fast-check garbage — with jose and with the node:crypto decryptor, on both
// curves. Each gets exactly its code (almost always invalid_token), never any other error.

import {
  createOpener,
  type Grant,
  isKeyholeError,
  type KeyholePrivateJwk,
  type Opener,
  toPublicJwk,
} from '@keyhole/core'
import { nodeDecrypt } from '@keyhole/core/node'
import fc from 'fast-check'
import { base64url } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  craftSigned,
  keyholeHeader,
  seal,
  testIssuers,
  validClaims,
} from '../../packages/core/test/kit/index.js'
import { byteMutations, type Case, craftedCases, encodingVariants, shapedGarbage } from './harness/corpus.js'
import { leaks, observe } from './harness/secrets.js'
import { type Keys, makeKeys, mintFor } from './harness/tokens.js'

interface Outcome {
  code: string
  grant?: Grant
}

const PRE_CLAIMS_MESSAGE = new Set<string>()
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort().join(',')

async function outcome(opener: Opener, token: string): Promise<Outcome> {
  try {
    return { code: 'ok', grant: await opener.open(token) }
  } catch (error) {
    observe('opener-error', error)
    if (!isKeyholeError(error)) return { code: `not a KeyholeError: ${String(error)}` }
    if (error.code === 'invalid_token') {
      PRE_CLAIMS_MESSAGE.add(error.message)
      expect(error.cause).toBeUndefined()
    }
    return { code: error.code }
  }
}

/** Runs cases and returns the ones whose outcome is not allowed, with what they got. */
async function failures(
  opener: Opener,
  cases: readonly Case[],
  original?: { jti: string },
): Promise<string[]> {
  const wrong: string[] = []
  for (const c of cases) {
    const got = await outcome(opener, c.token)
    if (!c.expect.includes(got.code))
      wrong.push(`${c.label}: expected ${c.expect.join('|')}, got ${got.code}`)
    else if (got.code === 'ok' && c.sameAs !== undefined && original && got.grant?.jti !== original.jti)
      wrong.push(`${c.label}: opened as a different token`)
  }
  return wrong
}

type Decrypt = ((token: string, key: KeyholePrivateJwk) => Uint8Array) | undefined
const DECRYPTORS: [string, Decrypt][] = [
  ['jose', undefined],
  ['node:crypto (nodeDecrypt)', nodeDecrypt],
]

for (const curve of ['P-256', 'X25519'] as const) {
  describe(`${curve} tokens`, () => {
    let keys: Keys
    let valid: string
    let validJti: string
    const hosts = ['api.example.com']

    beforeAll(async () => {
      keys = await makeKeys(curve)
      valid = (await mintFor(keys.key, { hosts })).token
      validJti = (await createOpener({ keyring: keys.keyring, issuers: testIssuers }).open(valid)).jti
    })

    for (const [name, decrypt] of DECRYPTORS) {
      describe(`opened with ${name}`, () => {
        let opener: Opener
        beforeAll(() => {
          opener = createOpener({
            keyring: keys.keyring,
            issuers: testIssuers,
            cacheSize: 0,
            ...(decrypt ? { decrypt } : {}),
          })
        })

        it('control: the valid token opens', async () => {
          expect((await outcome(opener, valid)).code).toBe('ok')
        })

        it('every single-character substitution, deletion and insertion, in every segment', async () => {
          const cases = byteMutations(valid)
          expect(cases.length).toBeGreaterThan(valid.length * 3)
          expect(await failures(opener, cases, { jti: validJti })).toEqual([])
        }, 180_000)

        it('base64 and serialization variants', async () => {
          expect(await failures(opener, encodingVariants(valid))).toEqual([])
        })

        it('header edits, foreign keys, swapped segments, nested and duplicate JSON, prototype names', async () => {
          const cases = await craftedCases(keys.key, keys.foreign, hosts)
          expect(cases.length).toBeGreaterThan(100)
          expect(await failures(opener, cases)).toEqual([])
          // Nothing a claim said reached Object.prototype.
          expect(({} as Record<string, unknown>).polluted).toBeUndefined()
          expect(Object.getOwnPropertyNames(Object.prototype).sort().join(',')).toBe(prototypeKeys)
        }, 60_000)

        it('fast-check: any string is invalid_token and nothing else', async () => {
          await fc.assert(
            fc.asyncProperty(
              fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String()),
              async (text) => {
                expect((await outcome(opener, text)).code).toBe('invalid_token')
              },
            ),
            { numRuns: 300 },
          )
        })

        it('fast-check: shape-correct tokens with any JSON (or bytes) as header are invalid_token', async () => {
          await fc.assert(
            fc.asyncProperty(
              fc.oneof(
                fc.jsonValue().map((v) => base64url.encode(JSON.stringify(v) ?? 'null')),
                fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => base64url.encode(b)),
                fc
                  .dictionary(
                    fc.constantFrom('alg', 'enc', 'kid', 'typ', 'cty', 'hosts', 'epk', 'zip', 'crit'),
                    fc.jsonValue(),
                  )
                  .map((h) =>
                    base64url.encode(
                      JSON.stringify({ ...keyholeHeader(toPublicJwk(keys.key), hosts), ...h }),
                    ),
                  ),
              ),
              fc.integer({ min: 1, max: 600 }),
              async (header, size) => {
                expect((await outcome(opener, shapedGarbage(header, size))).code).toBe('invalid_token')
              },
            ),
            { numRuns: 300 },
          )
        })

        it('fast-check: properly encrypted garbage plaintext is invalid_token', async () => {
          const pub = toPublicJwk(keys.key)
          await fc.assert(
            fc.asyncProperty(
              fc.oneof(
                fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
                fc.string(),
                fc.uint8Array({ maxLength: 200 }),
              ),
              async (plaintext) => {
                const { token } = await seal(
                  pub,
                  (epk) => JSON.stringify({ ...keyholeHeader(pub, hosts), epk }),
                  plaintext,
                )
                expect((await outcome(opener, token)).code).toBe('invalid_token')
              },
            ),
            { numRuns: 150 },
          )
        })

        it('fast-check: claims with any member replaced by anything get a precise code, never another error', async () => {
          const pub = toPublicJwk(keys.key)
          const members = [
            'jti',
            'iat',
            'exp',
            'nbf',
            'iss',
            'aud',
            'sub',
            'hosts',
            'paths',
            'methods',
            'inject',
            '__proto__',
            'constructor',
          ]
          await fc.assert(
            fc.asyncProperty(
              fc.dictionary(fc.constantFrom(...members), fc.jsonValue(), { minKeys: 1 }),
              async (edits) => {
                const claims = { ...validClaims({ hosts, value: 'x' }), ...edits }
                const token = await craftSigned(pub, { claims, hosts, header: (h) => h })
                const got = await outcome(opener, token)
                expect(['ok', 'invalid_token', 'token_expired', 'token_not_yet_valid']).toContain(got.code)
                if (got.grant) {
                  expect(Object.isFrozen(got.grant)).toBe(true)
                  expect(got.grant.hosts).toEqual(hosts)
                  for (const key of Object.keys(got.grant))
                    expect([
                      'jti',
                      'iat',
                      'exp',
                      'nbf',
                      'iss',
                      'aud',
                      'sub',
                      'hosts',
                      'paths',
                      'methods',
                      'inject',
                      'kid',
                      'issuerKid',
                    ]).toContain(key)
                }
              },
            ),
            { numRuns: 200 },
          )
          expect(Object.getOwnPropertyNames(Object.prototype).sort().join(',')).toBe(prototypeKeys)
        }, 60_000)
      })
    }
  })
}

afterAll(() => {
  // One opaque message for every failure before the claims are trusted (no oracle), and no
  // secret in any error any case above provoked.
  expect([...PRE_CLAIMS_MESSAGE]).toHaveLength(1)
  expect(leaks()).toEqual([])
})
