import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  craftJws,
  craftSignedToken,
  jsonAnswer,
  SECRET,
  startUpstream,
  type Upstream,
  validClaims,
} from '../../test/kit/index.js'
import { isKeyholeError, type KeyholeError } from '../errors.js'
import { generateKey } from '../keys/generate-key.js'
import { toPublicJwk } from '../keys/jwk.js'
import { createKeyring } from '../keys/keyring.js'
import { mint } from '../mint.js'
import { issuerRevocationId } from '../revocation/issuer-revocation.js'
import { createMemoryStore } from '../revocation/memory-store.js'
import type { KeyholeIssuerPrivateJwk, KeyholePrivateJwk } from '../types.js'
import { createOpener } from './opener.js'

const grant = {
  hosts: ['api.example.com'],
  inject: [{ in: 'header' as const, name: 'Authorization', value: `Bearer ${SECRET}` }],
  ttl: '1h',
}

async function refusal(promise: Promise<unknown>): Promise<KeyholeError> {
  try {
    await promise
  } catch (err) {
    if (isKeyholeError(err)) return err
    throw err
  }
  throw new Error('expected the open to be refused')
}

let encKey: KeyholePrivateJwk
let issuer: KeyholeIssuerPrivateJwk
let edIssuer: KeyholeIssuerPrivateJwk
let stranger: KeyholeIssuerPrivateJwk

beforeAll(async () => {
  ;[encKey, issuer, edIssuer, stranger] = await Promise.all([
    generateKey(),
    generateKey({ use: 'sig' }),
    generateKey({ use: 'sig', alg: 'EdDSA' }),
    generateKey({ use: 'sig' }),
  ])
})

describe('signed grants', () => {
  it('generateKey({ use: "sig" }) makes ES256 and EdDSA issuer keys whose public half has no d', () => {
    expect(issuer).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    expect(edIssuer).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
    const pub = toPublicJwk(issuer)
    expect(pub).not.toHaveProperty('d')
    expect(pub.kid).toBe(issuer.kid)
  })

  it('mint signs then encrypts: cty JWT in the header, and a trusted issuer opens it', async () => {
    const keyring = createKeyring([encKey])
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: issuer })
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())
    expect(header).toMatchObject({ typ: 'keyhole+jwt', cty: 'JWT', hosts: ['api.example.com'] })
    const opener = createOpener({ keyring, issuers: [toPublicJwk(issuer)] })
    const opened = await opener.open(token)
    expect(opened.issuerKid).toBe(issuer.kid)
    expect(opened.inject[0]?.value).toBe(`Bearer ${SECRET}`)
  })

  it('EdDSA issuers work, given as a JWK set or as { keys, hosts }', async () => {
    const keyring = createKeyring([encKey])
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: edIssuer })
    const asSet = createOpener({ keyring, issuers: [{ keys: [toPublicJwk(edIssuer)] }] })
    expect((await asSet.open(token)).issuerKid).toBe(edIssuer.kid)
    const scoped = createOpener({
      keyring,
      issuers: [{ keys: toPublicJwk(edIssuer), hosts: ['*.example.com'] }],
    })
    expect((await scoped.open(token)).issuerKid).toBe(edIssuer.kid)
  })

  it('a token minted with only the public JWKS (unsigned) is refused by a default opener, before decryption', async () => {
    const keyring = createKeyring([encKey])
    const token = await mint(grant, { to: keyring.publicJwks() })
    const opener = createOpener({ keyring, issuers: [toPublicJwk(issuer)] })
    const err = await refusal(opener.open(token))
    expect(err.code).toBe('invalid_token')
    expect(err.reason).toBe('unsigned')
    expect(err.message).not.toContain('unsigned')
    expect(opener.stats.decryptions).toBe(0)
    // acceptUnsigned opens it, as an unsigned grant (no issuerKid).
    const lenient = createOpener({ keyring, acceptUnsigned: true })
    expect(lenient.acceptsUnsigned).toBe(true)
    expect((await lenient.open(token)).issuerKid).toBeUndefined()
  })

  it('a grant signed by an issuer the proxy does not trust is unknown_issuer', async () => {
    const keyring = createKeyring([encKey])
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: stranger })
    const err = await refusal(createOpener({ keyring, issuers: [toPublicJwk(issuer)] }).open(token))
    expect([err.code, err.reason]).toEqual(['invalid_token', 'unknown_issuer'])
    // No issuers at all: nothing signed opens either.
    const none = await refusal(createOpener({ keyring }).open(token))
    expect([none.code, none.reason]).toEqual(['invalid_token', 'unknown_issuer'])
  })

  const hostile: [string, Parameters<typeof craftJws>[2]][] = [
    ['alg none', { header: { alg: 'none' }, signature: 'none' }],
    [
      'HS256 keyed with the public x coordinate',
      { header: { alg: 'HS256' }, signature: { hs256: new Uint8Array(32) } },
    ],
    ['an embedded jwk', { header: { jwk: { kty: 'EC' } } }],
    ['a jku', { header: { jku: 'https://attacker.example/jwks.json' } }],
    ['an x5u', { header: { x5u: 'https://attacker.example/cert.pem' } }],
    ['an x5c', { header: { x5c: ['MIIB'] } }],
    ['an unknown crit', { header: { crit: ['exp'], exp: 1 } }],
    ['another typ', { header: { typ: 'JWT' } }],
    ['no typ', { header: { typ: undefined } }],
    ['EdDSA named on a P-256 key', { header: { alg: 'EdDSA' } }],
    ['RS256', { header: { alg: 'RS256' } }],
  ]
  for (const [name, options] of hostile) {
    it(`refuses a signed grant with ${name} as bad_signature`, async () => {
      const keyring = createKeyring([encKey])
      const jws = await craftJws(validClaims(), issuer, options)
      const token = await craftSignedToken(toPublicJwk(encKey), jws)
      const err = await refusal(createOpener({ keyring, issuers: [toPublicJwk(issuer)] }).open(token))
      expect([err.code, err.reason]).toEqual(['invalid_token', 'bad_signature'])
    })
  }

  it('refuses a JWS whose signature was made by another key under the trusted kid', async () => {
    const keyring = createKeyring([encKey])
    const forged = await craftJws(validClaims(), { ...stranger, kid: issuer.kid })
    const token = await craftSignedToken(toPublicJwk(encKey), forged)
    const err = await refusal(createOpener({ keyring, issuers: [toPublicJwk(issuer)] }).open(token))
    expect([err.code, err.reason]).toEqual(['invalid_token', 'bad_signature'])
  })

  it('refuses a signed token whose inner payload is not a grant, and a cty other than JWT', async () => {
    const keyring = createKeyring([encKey])
    const opener = createOpener({ keyring, issuers: [toPublicJwk(issuer)] })
    const garbage = await craftSignedToken(toPublicJwk(encKey), 'not-a-jws')
    expect((await refusal(opener.open(garbage))).code).toBe('invalid_token')
    const wrongCty = await craftSignedToken(
      toPublicJwk(encKey),
      await craftJws(validClaims(), issuer),
      undefined,
      {
        cty: 'jwt+other',
      },
    )
    expect((await refusal(opener.open(wrongCty))).code).toBe('invalid_token')
    const good = await craftSignedToken(toPublicJwk(encKey), await craftJws(validClaims(), issuer))
    expect((await opener.open(good)).issuerKid).toBe(issuer.kid)
  })

  it('an issuer limited to host patterns cannot grant outside them (issuer_scope)', async () => {
    const keyring = createKeyring([encKey])
    const opener = createOpener({
      keyring,
      issuers: [{ keys: toPublicJwk(issuer), hosts: ['*.example.com'] }],
    })
    const inside = await mint(
      { ...grant, hosts: ['api.example.com', '*.eu.example.com'] },
      { to: keyring.publicJwks(), signWith: issuer },
    )
    expect((await opener.open(inside)).issuerKid).toBe(issuer.kid)
    for (const hosts of [
      ['api.example.com', 'evil.test'],
      ['example.com'],
      ['http://api.example.com'],
      ['api.example.com:8443'],
      ['*.test.com'],
    ]) {
      const outside = await mint({ ...grant, hosts }, { to: keyring.publicJwks(), signWith: issuer })
      const err = await refusal(opener.open(outside))
      expect([err.code, err.reason]).toEqual(['invalid_token', 'issuer_scope'])
    }
  })

  it("takes a scoped issuer's keys as a list of JWKs too ({ keys: [jwk], hosts })", async () => {
    const keyring = createKeyring([encKey])
    const opener = createOpener({
      keyring,
      issuers: [{ keys: [toPublicJwk(issuer)], hosts: ['*.example.com'] }],
    })
    const inside = await mint(
      { ...grant, hosts: ['api.example.com'] },
      { to: keyring.publicJwks(), signWith: issuer },
    )
    expect((await opener.open(inside)).issuerKid).toBe(issuer.kid)
    const outside = await mint(
      { ...grant, hosts: ['evil.test'] },
      { to: keyring.publicJwks(), signWith: issuer },
    )
    expect((await refusal(opener.open(outside))).reason).toBe('issuer_scope')
  })

  it("an issuer's scope covers its grants' token endpoints too (an oauth2 tokenUrl outside it: issuer_scope)", async () => {
    const keyring = createKeyring([encKey])
    const opener = createOpener({
      keyring,
      issuers: [{ keys: toPublicJwk(issuer), hosts: ['*.example.com'] }],
    })
    const oauth2 = (tokenUrl: string) => ({
      ...grant,
      hosts: ['api.example.com'],
      inject: [{ type: 'oauth2', tokenUrl, clientId: 'c', clientSecret: 's' }],
    })
    const inside = await mint(oauth2('https://auth.example.com/token'), {
      to: keyring.publicJwks(),
      signWith: issuer,
    })
    expect((await opener.open(inside)).issuerKid).toBe(issuer.kid)
    for (const tokenUrl of [
      'https://auth.elsewhere.test/token',
      'http://auth.example.com/token',
      'https://auth.example.com:8443/token',
      'https://example.com/token',
    ]) {
      const outside = await mint(oauth2(tokenUrl), { to: keyring.publicJwks(), signWith: issuer })
      const err = await refusal(opener.open(outside))
      expect([err.code, err.reason], tokenUrl).toEqual(['invalid_token', 'issuer_scope'])
    }
  })

  it('revoking issuer:<kid> refuses every grant that key signed, cached ones included', async () => {
    const keyring = createKeyring([encKey])
    const revocations = createMemoryStore()
    const opener = createOpener({
      keyring,
      revocations,
      issuers: [toPublicJwk(issuer), toPublicJwk(edIssuer)],
    })
    const a = await mint(grant, { to: keyring.publicJwks(), signWith: issuer })
    const b = await mint(grant, { to: keyring.publicJwks(), signWith: edIssuer })
    await opener.open(a)
    await revocations.revoke(issuerRevocationId(issuer.kid), new Date(Date.now() + 3_600_000))
    expect((await refusal(opener.open(a))).code).toBe('token_revoked')
    expect((await opener.open(b)).issuerKid).toBe(edIssuer.kid)
  })

  it('dropping an issuer from the trusted set drops its cached grants at once', async () => {
    const keyring = createKeyring([encKey])
    const opener = createOpener({ keyring, issuers: [toPublicJwk(issuer), toPublicJwk(edIssuer)] })
    const a = await mint(grant, { to: keyring.publicJwks(), signWith: issuer })
    const b = await mint(grant, { to: keyring.publicJwks(), signWith: edIssuer })
    await opener.open(a)
    await opener.open(b)
    expect(opener.stats.cacheSize).toBe(2)
    opener.setIssuers([toPublicJwk(edIssuer)])
    const err = await refusal(opener.open(a))
    expect([err.code, err.reason]).toEqual(['invalid_token', 'unknown_issuer'])
    expect((await opener.open(b)).issuerKid).toBe(edIssuer.kid)
  })

  it('refuses a private key or a malformed key among trusted issuers at once', async () => {
    const keyring = createKeyring([encKey])
    expect(() =>
      createOpener({
        keyring,
        issuers: [{ keys: { kty: 'EC', crv: 'P-256', x: 'bad', use: 'sig' } as never }],
      }),
    ).toThrow()
    expect(() =>
      createOpener({ keyring, issuers: [{ keys: toPublicJwk(issuer), hosts: ['bad host/'] }] }),
    ).toThrow(/issuers\[0\]\.hosts/)
    const withPrivate = createOpener({ keyring, issuers: [issuer as never] })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: issuer })
    // A private key given as trusted is refused when the keys load, never silently used.
    await expect(withPrivate.open(token)).rejects.toThrow()
  })

  it('refuses an issuer entry that cannot mean what it seems: a misspelt scope would trust every host', async () => {
    const keyring = createKeyring([encKey])
    const pub = toPublicJwk(issuer)
    const refused: [unknown, RegExp][] = [
      [
        { keys: pub, host: ['good.example'] },
        /issuers\[0\] has an unknown member "host"; expected \{ keys, hosts \}/,
      ],
      [{ keys: pub, Hosts: ['good.example'] }, /unknown member "Hosts"/],
      [
        { ...pub, hosts: ['good.example'] },
        /unknown member "hosts"; expected a JWK \(for a scope, write \{ keys: jwk, hosts \}\)/,
      ],
      [{ foo: 1 }, /unknown member "foo"/],
      [{ keys: [] }, /holds no issuer key/],
      [toPublicJwk(encKey), /holds no issuer key/],
      [keyring, /holds no issuer key/],
      ['not a url', /https:\/\/ JWKS URL/],
      ['ftp://issuer.example/jwks', /https:\/\/ JWKS URL/],
      [{ keys: 'ftp://issuer.example/jwks', hosts: ['good.example'] }, /https:\/\/ JWKS URL/],
      [7, /must be an issuer key/],
    ]
    for (const [entry, message] of refused)
      expect(() => createOpener({ keyring, issuers: [entry as never] }), JSON.stringify(entry)).toThrow(
        message,
      )
    // The right spelling scopes the issuer.
    const scoped = createOpener({ keyring, issuers: [{ keys: pub, hosts: ['good.example'] }] })
    const evil = await mint(
      { ...grant, hosts: ['evil.example'] },
      { to: keyring.publicJwks(), signWith: issuer },
    )
    expect((await refusal(scoped.open(evil))).reason).toBe('issuer_scope')
  })
})

describe('issuer JWKS URLs', () => {
  let upstream: Upstream
  let url: string
  let served: unknown[] = []
  let clock = Date.now()
  const fetches = () => upstream.received.length

  beforeAll(async () => {
    upstream = await startUpstream({ answer: jsonAnswer(() => ({ keys: served })) })
    url = `${upstream.origin}/issuer.json`
  })
  afterAll(() => upstream.close())

  it('fetches on first use, refetches for an unknown kid at most once per 30 s, and picks up rotation', async () => {
    const keyring = createKeyring([encKey])
    served = [toPublicJwk(issuer), toPublicJwk(encKey)]
    upstream.received.splice(0)
    const opener = createOpener({ keyring, issuers: [url], now: () => clock })
    const a = await mint(grant, { to: keyring.publicJwks(), signWith: issuer })
    expect((await opener.open(a)).issuerKid).toBe(issuer.kid)
    expect(fetches()).toBe(1)

    // The issuer rotates to an EdDSA key; within 30 s of the last fetch it is not seen yet.
    served = [toPublicJwk(issuer), toPublicJwk(edIssuer)]
    const b = await mint(grant, { to: keyring.publicJwks(), signWith: edIssuer })
    clock += 10_000
    expect((await refusal(opener.open(b))).reason).toBe('unknown_issuer')
    const c = await mint(grant, { to: keyring.publicJwks(), signWith: stranger })
    expect((await refusal(opener.open(c))).reason).toBe('unknown_issuer')
    expect(fetches()).toBe(1)

    clock += 25_000
    expect((await opener.open(b)).issuerKid).toBe(edIssuer.kid)
    expect(fetches()).toBe(2)
    // A flood of unknown kids right after costs no fetch.
    for (let i = 0; i < 5; i++)
      await refusal(opener.open(await mint(grant, { to: keyring.publicJwks(), signWith: stranger })))
    expect(fetches()).toBe(2)
  })

  it('stops trusting a key the issuer removed from its JWKS once the cache TTL has passed', async () => {
    const keyring = createKeyring([encKey])
    served = [toPublicJwk(issuer)]
    upstream.received.splice(0)
    const opener = createOpener({ keyring, issuers: [url], issuerJwks: { cacheTtl: '1m' }, now: () => clock })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: issuer })
    expect((await opener.open(token)).issuerKid).toBe(issuer.kid)
    served = [toPublicJwk(edIssuer)] // the issuer rotated its compromised key out
    clock += 30_000
    await opener.open(token) // within the TTL: no fetch
    expect(fetches()).toBe(1)
    clock += 31_000
    // Past the TTL: this open still answers from what is known and refreshes in the background...
    await opener.open(token)
    await vi.waitFor(() => expect(fetches()).toBe(2))
    // ...after which the removed key's grants, cached ones included, are refused.
    await vi.waitFor(async () => expect((await refusal(opener.open(token))).reason).toBe('unknown_issuer'))
    const fresh = await mint(grant, { to: keyring.publicJwks(), signWith: issuer })
    expect((await refusal(opener.open(fresh))).reason).toBe('unknown_issuer')
  })

  it('refuses a plain-http issuer JWKS on a non-loopback host (nothing trusted from it)', async () => {
    const keyring = createKeyring([encKey])
    const opener = createOpener({ keyring, issuers: ['http://issuer.example.com/jwks.json'] })
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: issuer })
    const err = await refusal(opener.open(token))
    expect([err.code, err.reason]).toEqual(['invalid_token', 'unknown_issuer'])
  })
})

describe('nodeVerify, the node:crypto signature check', () => {
  it('opens what jose opens and refuses what jose refuses, for both algorithms', async () => {
    const { nodeVerify } = await import('../node/crypto/node-verify.js')
    const keyring = createKeyring([encKey])
    const issuers = [toPublicJwk(issuer), toPublicJwk(edIssuer)]
    const native = createOpener({ keyring, issuers, verify: nodeVerify, cacheSize: 0 })
    const webcrypto = createOpener({ keyring, issuers, cacheSize: 0 })
    for (const signWith of [issuer, edIssuer]) {
      const token = await mint(grant, { to: keyring.publicJwks(), signWith })
      expect((await native.open(token)).issuerKid).toBe(signWith.kid)
      expect((await webcrypto.open(token)).issuerKid).toBe(signWith.kid)
      // Same claims, signature flipped in its last byte: both refuse.
      const jws = await craftJws(validClaims(), signWith)
      const flipped = jws.slice(0, -2) + (jws.at(-2) === 'A' ? 'B' : 'A') + jws.at(-1)
      const bad = await craftSignedToken(toPublicJwk(encKey), flipped)
      expect((await refusal(native.open(bad))).reason).toBe('bad_signature')
      expect((await refusal(webcrypto.open(bad))).reason).toBe('bad_signature')
      // A signature that is not 64 bytes (DER-encoded, truncated) is refused, not parsed.
      const short = await craftSignedToken(toPublicJwk(encKey), jws.slice(0, jws.lastIndexOf('.') + 11))
      expect((await refusal(native.open(short))).reason).toBe('bad_signature')
    }
  })
})
