import { describe, expect, it } from 'vitest'
import { craftJws, testEdIssuer, testIssuer, testIssuers, validClaims } from '../../test/kit/index.js'
import { isKeyholeError } from '../errors.js'
import { nodeVerify } from '../node/crypto/node-verify.js'
import { createIssuerSet } from './issuers.js'
import { type GrantVerifier, verifyGrant } from './verify-grant.js'

async function loadedIssuers() {
  const issuers = createIssuerSet(testIssuers)
  // Loads the static keys, so that `get` answers without a promise.
  await issuers.find(testIssuer.kid)
  return issuers
}

async function reason(run: () => unknown): Promise<string | undefined> {
  try {
    await run()
  } catch (err) {
    if (isKeyholeError(err) && err.code === 'invalid_token') return err.reason
    throw err
  }
  throw new Error('expected invalid_token')
}

describe('verifyGrant', () => {
  it('answers without a promise when the issuer key is loaded and the verifier is synchronous', async () => {
    const issuers = await loadedIssuers()
    for (const issuer of [testIssuer, testEdIssuer]) {
      const claims = validClaims()
      const result = verifyGrant(await craftJws(claims, issuer), issuers, nodeVerify)
      expect(result).not.toBeInstanceOf(Promise)
      expect(result).toMatchObject({ claims, issuer: { kid: issuer.kid } })
    }
  })

  it('a header seen and accepted before still needs a valid signature over each payload', async () => {
    const issuers = await loadedIssuers()
    const jws = await craftJws(validClaims(), testIssuer)
    verifyGrant(jws, issuers, nodeVerify)
    const [header, payload, signature] = jws.split('.') as [string, string, string]
    const other = await craftJws({ ...validClaims(), sub: 'someone else' }, testIssuer)
    const otherPayload = other.split('.')[1]!
    expect(
      await reason(() => verifyGrant(`${header}.${otherPayload}.${signature}`, issuers, nodeVerify)),
    ).toBe('bad_signature')
    // Signed by the other issuer key under this header's kid: the key named by the header decides.
    const byEd = (await craftJws(validClaims(), testEdIssuer)).split('.')[2]!
    expect(await reason(() => verifyGrant(`${header}.${payload}.${byEd}`, issuers, nodeVerify))).toBe(
      'bad_signature',
    )
    expect(verifyGrant(jws, issuers, nodeVerify)).toMatchObject({ issuer: { kid: testIssuer.kid } })
  })

  it('refuses a header again every time, and an alg that is not the key’s own', async () => {
    const issuers = await loadedIssuers()
    const withJwk = await craftJws(validClaims(), testIssuer, { header: { jwk: { kty: 'EC' } } })
    const wrongAlg = await craftJws(validClaims(), testIssuer, { header: { alg: 'EdDSA' } })
    for (let i = 0; i < 2; i++) {
      expect(await reason(() => verifyGrant(withJwk, issuers, nodeVerify))).toBe('bad_signature')
      expect(await reason(() => verifyGrant(wrongAlg, issuers, nodeVerify))).toBe('bad_signature')
    }
  })

  it('an unknown kid is unknown_issuer, through the issuer set’s lookup', async () => {
    const issuers = await loadedIssuers()
    const jws = await craftJws(validClaims(), testIssuer, { header: { kid: 'not-a-trusted-kid' } })
    const result = verifyGrant(jws, issuers, nodeVerify)
    expect(result).toBeInstanceOf(Promise)
    expect(await reason(() => result)).toBe('unknown_issuer')
  })

  it('takes an asynchronous verifier: true opens, false or a throw is bad_signature', async () => {
    const issuers = await loadedIssuers()
    const jws = await craftJws(validClaims(), testIssuer)
    const answer =
      (value: boolean | 'throw'): GrantVerifier =>
      async () => {
        if (value === 'throw') throw new Error('verifier failed')
        return value
      }
    expect(await verifyGrant(jws, issuers, answer(true))).toMatchObject({ issuer: { kid: testIssuer.kid } })
    expect(await reason(() => verifyGrant(jws, issuers, answer(false)))).toBe('bad_signature')
    expect(await reason(() => verifyGrant(jws, issuers, answer('throw')))).toBe('bad_signature')
    const throwsNow: GrantVerifier = () => {
      throw new Error('verifier failed')
    }
    expect(await reason(() => verifyGrant(jws, issuers, throwsNow))).toBe('bad_signature')
    // Without a verifier, jose checks the signature.
    expect(await verifyGrant(jws, issuers)).toMatchObject({ issuer: { kid: testIssuer.kid } })
  })
})
