import { beforeAll, describe, expect, it } from 'vitest'
import { craftSigned, SECRET, validClaims } from '../../test/kit/index.js'
import { isKeyholeError } from '../errors.js'
import { generateKey } from '../keys/generate-key.js'
import { toPublicJwk } from '../keys/jwk.js'
import { createKeyring, type Keyring } from '../keys/keyring.js'
import { compilePolicy } from '../policy/authorize.js'
import { compileInjection } from '../proxy/inject-credentials.js'
import type { KeyholeIssuerPrivateJwk, KeyholePublicJwk } from '../types.js'
import { createOpener, type Opener } from './opener.js'

// Fresh tokens with the same policy share one validated, compiled policy (validate-claims.ts).
// These tests pin that the sharing happens, and that everything checked per token still is.

let keyring: Keyring
let recipient: KeyholePublicJwk
let issuer: KeyholeIssuerPrivateJwk
let scopedIssuer: KeyholeIssuerPrivateJwk

beforeAll(async () => {
  const [key, signer, other] = await Promise.all([
    generateKey(),
    generateKey({ use: 'sig' }),
    generateKey({ use: 'sig', alg: 'EdDSA' }),
  ])
  keyring = createKeyring([key])
  recipient = keyring.publicJwks().keys[0]!
  issuer = signer
  scopedIssuer = other
})

function openerFor(options: Partial<Parameters<typeof createOpener>[0]> = {}): Opener {
  return createOpener({
    keyring,
    issuers: [toPublicJwk(issuer), { keys: toPublicJwk(scopedIssuer), hosts: ['*.internal.example'] }],
    ...options,
  })
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    if (isKeyholeError(err)) return err.code
    throw err
  }
  throw new Error('expected the open to be refused')
}

describe('policy templates', () => {
  it('two fresh tokens with the same policy share its frozen arrays and their compiled forms', async () => {
    const opener = openerFor()
    const first = await opener.open(await craftSigned(recipient, { signWith: issuer }))
    const second = await opener.open(await craftSigned(recipient, { signWith: issuer }))
    expect(second.jti).not.toBe(first.jti)
    expect(second.hosts).toBe(first.hosts)
    expect(second.inject).toBe(first.inject)
    expect(Object.isFrozen(second.inject[0])).toBe(true)
    expect(compilePolicy(second)).toBe(compilePolicy(first))
    expect(compileInjection(second)).toBe(compileInjection(first))
  })

  it('a different credential, host list or path list gets its own template', async () => {
    const opener = openerFor()
    const base = await opener.open(await craftSigned(recipient, { signWith: issuer }))
    const otherValue = await opener.open(
      await craftSigned(recipient, { signWith: issuer, claims: validClaims({ value: 'other-secret' }) }),
    )
    expect(otherValue.inject).not.toBe(base.inject)
    expect(otherValue.inject[0]?.value).toBe('Bearer other-secret')
    expect(compileInjection(otherValue).secrets).toContain('other-secret')
    expect(compileInjection(otherValue).secrets).not.toContain(SECRET)

    const withPaths = await opener.open(
      await craftSigned(recipient, { signWith: issuer, claims: { ...validClaims(), paths: ['/v1/*'] } }),
    )
    expect(withPaths.paths).toEqual(['/v1/*'])
    expect(compilePolicy(withPaths).paths).toHaveLength(1)
    expect(compilePolicy(base).paths).toBeUndefined()
  })

  it('a template hit still checks the per-token claims: times, jti, audience, issuer', async () => {
    const opener = openerFor({ audience: 'proxy-a', issuer: 'https://issuer.example' })
    const good = { ...validClaims(), aud: 'proxy-a', iss: 'https://issuer.example' }
    await opener.open(await craftSigned(recipient, { signWith: issuer, claims: good }))
    const now = Math.floor(Date.now() / 1000)
    const cases: Record<string, unknown>[] = [
      { ...validClaims(), aud: 'proxy-b', iss: 'https://issuer.example' },
      { ...validClaims(), aud: 'proxy-a', iss: 'https://evil.example' },
      { ...good, jti: '' },
      { ...good, iat: now, exp: now - 1 },
      { ...good, iat: now, exp: now + 30 * 24 * 3600 },
      { ...good, nbf: 'soon' },
    ]
    for (const claims of cases) {
      expect(await refusal(opener.open(await craftSigned(recipient, { signWith: issuer, claims })))).toBe(
        'invalid_token',
      )
    }
  })

  it('a template hit does not skip the type checks JSON cannot see: paths or methods set to null', async () => {
    const opener = openerFor()
    await opener.open(await craftSigned(recipient, { signWith: issuer }))
    for (const extra of [{ paths: null }, { methods: null }, { inject: null }]) {
      const claims = { ...validClaims(), ...extra }
      expect(await refusal(opener.open(await craftSigned(recipient, { signWith: issuer, claims })))).toBe(
        'invalid_token',
      )
    }
  })

  it('the header hosts hint must still equal the claims on a template hit', async () => {
    const opener = openerFor()
    await opener.open(await craftSigned(recipient, { signWith: issuer }))
    const lying = await craftSigned(recipient, { signWith: issuer, hosts: ['other.example.com'] })
    expect(await refusal(opener.open(lying))).toBe('invalid_token')
  })

  it('a policy one issuer may grant is refused from a scoped issuer, template or not (issuer_scope)', async () => {
    const opener = openerFor()
    // The unscoped issuer's grant puts the policy in the templates first.
    await opener.open(await craftSigned(recipient, { signWith: issuer }))
    const err = await opener.open(await craftSigned(recipient, { signWith: scopedIssuer })).catch((e) => e)
    expect(isKeyholeError(err) && [err.code, err.reason]).toEqual(['invalid_token', 'issuer_scope'])
  })

  it('an invalid policy is never kept: the same bad policy is refused every time', async () => {
    const opener = openerFor()
    const bad = { ...validClaims(), inject: [{ in: 'header', name: 'Host', value: 'x' }] }
    for (let i = 0; i < 2; i++) {
      const claims = { ...bad, jti: `bad-${i}-0123456789` }
      expect(await refusal(opener.open(await craftSigned(recipient, { signWith: issuer, claims })))).toBe(
        'invalid_token',
      )
    }
  })
})

describe('compilePolicy cache', () => {
  it('is keyed by the pattern arrays: the same hosts array with other paths compiles anew', () => {
    const hosts = Object.freeze(['api.example.com'])
    const paths = Object.freeze(['/v1/*'])
    const open = compilePolicy({ hosts })
    expect(compilePolicy({ hosts })).toBe(open)
    const narrowed = compilePolicy({ hosts, paths })
    expect(narrowed).not.toBe(open)
    expect(narrowed.paths).toHaveLength(1)
    expect(compilePolicy({ hosts, paths })).toBe(narrowed)
    expect(compilePolicy({ hosts }).paths).toBeUndefined()
    expect(compilePolicy({ hosts, methods: ['GET'] }).methods?.has('GET')).toBe(true)
    expect(compilePolicy({ hosts, paths: ['/v2/*'] }).paths?.[0]).not.toEqual(narrowed.paths?.[0])
  })
})
