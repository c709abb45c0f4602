import { base64url } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { craftToken, SECRET } from '../test/kit/index.js'
import { testIssuer, testIssuers } from '../test/kit/issuer.js'
import { attenuate } from './attenuate.js'
import { isKeyholeError, type KeyholeError } from './errors.js'
import { generateKey } from './keys/generate-key.js'
import { toPublicJwk } from './keys/jwk.js'
import { createKeyring, type Keyring } from './keys/keyring.js'
import { mint } from './mint.js'
import { createOpener } from './open/opener.js'
import { authorize } from './policy/authorize.js'
import { createMemoryStore } from './revocation/memory-store.js'
import type { KeyholePrivateJwk } from './types.js'

const wide = {
  hosts: ['api.github.com', 'uploads.github.com'],
  paths: ['/repos/acme/**'],
  methods: ['GET', 'POST'],
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
  throw new Error('expected a refusal')
}

function refusalSync(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (isKeyholeError(err)) return err.code
    throw err
  }
  return 'allowed'
}

function header(token: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[0]!)))
}

/** A hand-made layer, as a hostile holder could encrypt one: any claims, any header hints. */
function craftLayer(
  encKey: KeyholePrivateJwk,
  claims: Record<string, unknown>,
  hints: Record<string, unknown>,
): Promise<string> {
  return craftToken(toPublicJwk(encKey), { claims, header: { cty: 'keyhole+att', ...hints } })
}

function layerClaims(inner: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000)
  return {
    jti: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
    iat,
    exp: iat + 600,
    inner,
    ...extra,
  }
}

let encKey: KeyholePrivateJwk
let keyring: Keyring
let token: string

beforeAll(async () => {
  encKey = await generateKey()
  keyring = createKeyring([encKey])
  token = await mint(wide, { to: keyring.publicJwks(), signWith: testIssuer })
})

describe('attenuate', () => {
  it("keeps the issuer-signed sub beside a layer's own label, through every layer", async () => {
    const signed = await mint(
      { ...wide, sub: 'alice-signed' },
      { to: keyring.publicJwks(), signWith: testIssuer },
    )
    const to = { to: keyring.publicJwks() }
    const relabelled = await attenuate(signed, { sub: 'bob-unsigned' }, to)
    const plain = await attenuate(signed, { methods: ['GET'] }, to)
    const twice = await attenuate(await attenuate(relabelled, { methods: ['GET'] }, to), { sub: 'carol' }, to)
    const opener = createOpener({ keyring, issuers: testIssuers })
    expect(await opener.open(relabelled)).toMatchObject({ sub: 'bob-unsigned', signedSub: 'alice-signed' })
    const unlabelled = await opener.open(plain)
    expect(unlabelled.sub).toBe('alice-signed')
    expect(unlabelled).not.toHaveProperty('signedSub')
    expect(await opener.open(twice)).toMatchObject({ sub: 'carol', signedSub: 'alice-signed' })
  })

  it('wraps the token in a keyhole+att layer that hides it and narrows what it allows', async () => {
    const narrow = await attenuate(
      token,
      { paths: ['/repos/acme/app/**'], methods: ['GET'], sub: 'sub-agent' },
      {
        to: keyring.publicJwks(),
      },
    )
    expect(header(narrow)).toMatchObject({ cty: 'keyhole+att', hosts: wide.hosts })
    for (const part of token.split('.')) expect(narrow).not.toContain(part)
    const opener = createOpener({ keyring, issuers: testIssuers })
    const grant = await opener.open(narrow)
    const inner = await opener.open(token)
    expect(grant.chain).toEqual([grant.jti, inner.jti])
    expect(grant.sub).toBe('sub-agent')
    // The issuer signed no sub: the audit record says so beside the holder's label.
    expect(grant.signedSub).toBeNull()
    expect(grant.issuerKid).toBe(testIssuer.kid)
    expect(grant.exp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 15 * 60 + 1)
    const get = (url: string, method = 'GET') => refusalSync(() => authorize(grant, { method, url }))
    expect(get('https://api.github.com/repos/acme/app/issues')).toBe('allowed')
    expect(get('https://api.github.com/repos/acme/other')).toBe('path_not_allowed')
    expect(get('https://api.github.com/repos/acme/app/issues', 'POST')).toBe('method_not_allowed')
    // The wide token itself still allows what it allowed.
    expect(
      refusalSync(() => authorize(inner, { method: 'POST', url: 'https://api.github.com/repos/acme/x' })),
    ).toBe('allowed')
  })

  it('narrows hosts only to patterns inside the token hint, and the new hint is the narrower one', async () => {
    const narrow = await attenuate(token, { hosts: ['uploads.github.com'] }, { to: keyring.publicJwks() })
    expect(header(narrow).hosts).toEqual(['uploads.github.com'])
    const grant = await createOpener({ keyring, issuers: testIssuers }).open(narrow)
    expect(
      refusalSync(() => authorize(grant, { method: 'GET', url: 'https://api.github.com/repos/acme/a' })),
    ).toBe('host_not_allowed')
    for (const hosts of [
      ['evil.example'],
      ['*.github.com'],
      ['http://api.github.com'],
      ['api.github.com:8443'],
    ]) {
      const err = await refusal(attenuate(token, { hosts }, { to: keyring.publicJwks() }))
      expect(err.code).toBe('invalid_grant')
      expect(err.message).not.toContain(hosts[0]!)
    }
  })

  it('refuses unknown restriction fields, bad patterns and methods without quoting them', async () => {
    for (const restriction of [
      { method: ['GET'] },
      { paths: ['no-slash-sk_live_x'] },
      { methods: ['get'] },
      { methods: ['TRACE'] },
      { ttl: '0s' },
    ]) {
      const err = await refusal(attenuate(token, restriction as never, { to: keyring.publicJwks() }))
      expect(err.code).toBe('invalid_grant')
      expect(err.message).not.toContain('sk_live_x')
    }
    expect((await refusal(attenuate('not.a.token', {}, { to: keyring.publicJwks() }))).code).toBe(
      'bad_request',
    )
  })

  describe('a layer only narrows, even one a holder wrote by hand', () => {
    const opener = () => createOpener({ keyring, issuers: testIssuers })

    it('a wider host gains nothing', async () => {
      const layer = await craftLayer(
        encKey,
        layerClaims(token, { hosts: ['evil.example', 'api.github.com'] }),
        {
          hosts: ['evil.example', 'api.github.com'],
        },
      )
      const grant = await opener().open(layer)
      expect(
        refusalSync(() => authorize(grant, { method: 'GET', url: 'https://evil.example/repos/acme/a' })),
      ).toBe('host_not_allowed')
    })

    it('a wider path gains nothing', async () => {
      const layer = await craftLayer(encKey, layerClaims(token, { paths: ['/**'] }), { hosts: wide.hosts })
      const grant = await opener().open(layer)
      expect(refusalSync(() => authorize(grant, { method: 'GET', url: 'https://api.github.com/user' }))).toBe(
        'path_not_allowed',
      )
    })

    it('a wider method gains nothing', async () => {
      const layer = await craftLayer(encKey, layerClaims(token, { methods: ['DELETE', 'GET'] }), {
        hosts: wide.hosts,
      })
      const grant = await opener().open(layer)
      expect(
        refusalSync(() => authorize(grant, { method: 'DELETE', url: 'https://api.github.com/repos/acme/a' })),
      ).toBe('method_not_allowed')
    })

    it('a later expiry gains nothing: the earliest exp wins', async () => {
      let clock = Date.now()
      const shortLived = await mint(
        { ...wide, ttl: '60s' },
        { to: keyring.publicJwks(), signWith: testIssuer },
      )
      const outer = await attenuate(shortLived, { ttl: '1h' }, { to: keyring.publicJwks() })
      const timed = createOpener({ keyring, issuers: testIssuers, now: () => clock, clockTolerance: 0 })
      const grant = await timed.open(outer)
      expect(grant.exp).toBe((await timed.open(shortLived)).exp)
      clock += 61_000
      expect((await refusal(timed.open(outer))).code).toBe('token_expired')
    })

    it('a layer carrying inject or iss is invalid_token', async () => {
      for (const extra of [{ inject: wide.inject }, { iss: 'me' }, { unknown: 1 }]) {
        const layer = await craftLayer(encKey, layerClaims(token, extra), { hosts: wide.hosts })
        expect((await refusal(opener().open(layer))).code).toBe('invalid_token')
      }
    })

    it('a hint that differs from the claims is invalid_token', async () => {
      const wrongHint = await craftLayer(encKey, layerClaims(token, { hosts: ['api.github.com'] }), {
        hosts: wide.hosts,
      })
      expect((await refusal(opener().open(wrongHint))).code).toBe('invalid_token')
      const noClaimOtherHint = await craftLayer(encKey, layerClaims(token), { hosts: ['api.github.com'] })
      expect((await refusal(opener().open(noClaimOtherHint))).code).toBe('invalid_token')
    })
  })

  it('opens up to 4 layers in all and refuses a fifth', async () => {
    let current = token
    const opener = createOpener({ keyring, issuers: testIssuers })
    for (let layer = 2; layer <= 4; layer++) {
      current = await attenuate(current, {}, { to: keyring.publicJwks() })
      expect((await opener.open(current)).chain).toHaveLength(layer)
    }
    const fifth = await attenuate(current, {}, { to: keyring.publicJwks() })
    expect((await refusal(opener.open(fifth))).code).toBe('invalid_token')
    // Not even when its inner layers are already in the cache, nor on a fresh opener.
    expect((await refusal(createOpener({ keyring, issuers: testIssuers }).open(fifth))).code).toBe(
      'invalid_token',
    )
  })

  it('revoking any layer revokes what is wrapped around it, not what is inside', async () => {
    const revocations = createMemoryStore()
    const opener = createOpener({ keyring, revocations, issuers: testIssuers })
    const middle = await attenuate(token, { methods: ['GET'] }, { to: keyring.publicJwks() })
    const outer = await attenuate(middle, { paths: ['/repos/acme/app/**'] }, { to: keyring.publicJwks() })
    const chain = (await opener.open(outer)).chain!
    expect(chain).toHaveLength(3)
    await revocations.revoke(chain[1]!, new Date(Date.now() + 3_600_000))
    expect((await refusal(opener.open(outer))).code).toBe('token_revoked')
    expect((await refusal(opener.open(middle))).code).toBe('token_revoked')
    expect((await opener.open(token)).jti).toBe(chain[2])
    await revocations.revoke(chain[2]!, new Date(Date.now() + 3_600_000))
    expect((await refusal(opener.open(token))).code).toBe('token_revoked')
  })

  it('the innermost layer must be trusted: a layer around an unsigned grant is refused', async () => {
    const unsigned = await mint(wide, { to: keyring.publicJwks() })
    const outer = await attenuate(unsigned, {}, { to: keyring.publicJwks() })
    const err = await refusal(createOpener({ keyring, issuers: testIssuers }).open(outer))
    expect([err.code, err.reason]).toEqual(['invalid_token', 'unsigned'])
  })

  describe('key binding', () => {
    it('binds an unbound token; the hint carries jkt; a re-bind is refused by attenuate and by the proxy', async () => {
      const holder = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
        'sign',
        'verify',
      ])
      const thief = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])
      const holderJwk = await crypto.subtle.exportKey('jwk', holder.publicKey)
      const thiefJwk = await crypto.subtle.exportKey('jwk', thief.publicKey)
      const bound = await attenuate(token, { bindKey: holderJwk }, { to: keyring.publicJwks() })
      const opener = createOpener({ keyring, issuers: testIssuers })
      const grant = await opener.open(bound)
      expect(grant.cnf?.jkt).toBe(header(bound).jkt)
      expect(grant.cnf?.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/)

      // Narrowing a bound token keeps the binding in the hint; re-binding it is refused.
      const narrower = await attenuate(bound, { methods: ['GET'] }, { to: keyring.publicJwks() })
      expect(header(narrower).jkt).toBe(grant.cnf?.jkt)
      expect((await opener.open(narrower)).cnf?.jkt).toBe(grant.cnf?.jkt)
      expect(
        (await refusal(attenuate(bound, { bindKey: thiefJwk }, { to: keyring.publicJwks() }))).code,
      ).toBe('invalid_grant')

      // The thief encrypts a re-binding layer by hand: the proxy refuses it.
      const { calculateJwkThumbprint } = await import('jose')
      const thiefJkt = await calculateJwkThumbprint(thiefJwk as never)
      const rebound = await craftLayer(encKey, layerClaims(bound, { cnf: { jkt: thiefJkt } }), {
        hosts: wide.hosts,
        jkt: thiefJkt,
      })
      expect((await refusal(opener.open(rebound))).code).toBe('invalid_token')
      // Nor can a layer drop the binding from the public hint.
      const hidden = await craftLayer(encKey, layerClaims(bound), { hosts: wide.hosts })
      expect((await refusal(opener.open(hidden))).code).toBe('invalid_token')
      // A private key is never accepted as bindKey.
      const priv = await crypto.subtle.exportKey('jwk', holder.privateKey)
      expect(
        (await refusal(attenuate(token, { bindKey: priv }, { to: keyring.publicJwks() }))).message,
      ).not.toContain(priv.d!)
    })

    it('mint binds a grant with bindKey, and the header hint must match the signed claim', async () => {
      const holder = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])
      const jwk = await crypto.subtle.exportKey('jwk', holder.publicKey)
      const bound = await mint({ ...wide, bindKey: jwk }, { to: keyring.publicJwks(), signWith: testIssuer })
      const grant = await createOpener({ keyring, issuers: testIssuers }).open(bound)
      expect(grant.cnf?.jkt).toBe(header(bound).jkt)
    })
  })
})
