import { base64url } from 'jose'
import { describe, expect, it } from 'vitest'
import { createProof, generateProofKey, type ProofKey } from '../../../client/src/index.js'
import { isKeyholeError, type KeyholeError } from '../errors.js'
import { createMemoryReplayCache, type ReplayCache } from './replay-cache.js'
import { type ProofCheck, proofTargetUrl, verifyProof } from './verify-proof.js'

const TOKEN = 'eyJ.token.as.sent'
const URL_ = 'https://api.example.com/v1/things'

async function refusal(promise: Promise<unknown>): Promise<KeyholeError> {
  try {
    await promise
  } catch (err) {
    if (isKeyholeError(err)) return err
    throw err
  }
  throw new Error('expected a refusal')
}

function check(key: ProofKey, proof: string | null, extra: Partial<ProofCheck> = {}): ProofCheck {
  return {
    proof,
    jkt: key.jkt,
    method: 'GET',
    htu: URL_,
    token: TOKEN,
    nowSeconds: Date.now() / 1000,
    window: 60,
    tolerance: 0,
    replay: createMemoryReplayCache(),
    ...extra,
  }
}

/** Re-signs a proof with changed header or claims, with the holder's key (a buggy or hostile client). */
async function resign(
  key: ProofKey,
  proof: string,
  change: { header?: Record<string, unknown>; claims?: Record<string, unknown> },
): Promise<string> {
  const [h, c] = proof.split('.')
  const decode = (s: string) => JSON.parse(new TextDecoder().decode(base64url.decode(s)))
  const header = { ...decode(h!), ...change.header }
  const claims = { ...decode(c!), ...change.claims }
  for (const o of [header, claims]) for (const [k, v] of Object.entries(o)) if (v === undefined) delete o[k]
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}`
  const sig = await crypto.subtle.sign(
    key.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' },
    key.privateKey,
    new TextEncoder().encode(input),
  )
  return `${input}.${base64url.encode(new Uint8Array(sig))}`
}

describe('proof of possession', () => {
  for (const alg of ['ES256', 'EdDSA'] as const) {
    it(`accepts the client's ${alg} proof once, and refuses its replay`, async () => {
      const key = await generateProofKey({ alg })
      const proof = await createProof(key, { method: 'GET', url: `${URL_}?page=2#frag`, token: TOKEN })
      const replay = createMemoryReplayCache()
      await verifyProof(check(key, proof, { replay }))
      const again = await refusal(verifyProof(check(key, proof, { replay })))
      expect([again.code, again.reason]).toEqual(['invalid_proof', 'replayed'])
    })
  }

  it('generateProofKey makes a non-extractable private key', async () => {
    const key = await generateProofKey()
    expect(key.privateKey.extractable).toBe(false)
    await expect(crypto.subtle.exportKey('jwk', key.privateKey)).rejects.toThrow()
    expect(Object.keys(key.publicJwk).sort()).toEqual(['crv', 'kty', 'x', 'y'])
  })

  it('refuses each broken part with invalid_proof and says why only in the reason', async () => {
    const key = await generateProofKey()
    const other = await generateProofKey()
    const good = await createProof(key, { method: 'GET', url: URL_, token: TOKEN })
    const cases: [string, string | null, Partial<ProofCheck>][] = [
      ['missing', null, {}],
      ['malformed', 'a.b', {}],
      ['wrong_key', good, { jkt: other.jkt }],
      ['wrong_method', good, { method: 'POST' }],
      ['wrong_target', good, { htu: 'https://api.example.com/v1/other' }],
      ['wrong_target', good, { htu: 'https://proxy.local:8787/https/api.example.com/v1/things' }],
      ['wrong_token', good, { token: 'another.token' }],
      ['stale', good, { nowSeconds: Date.now() / 1000 + 61 }],
      ['stale', good, { nowSeconds: Date.now() / 1000 - 61 }],
      ['bad_header', await resign(key, good, { header: { typ: 'JWT' } }), {}],
      ['bad_header', await resign(key, good, { header: { alg: 'HS256' } }), {}],
      ['bad_header', await resign(key, good, { header: { jku: 'https://x' } }), {}],
      ['bad_header', await resign(key, good, { header: { jwk: undefined } }), {}],
      ['private_key', await resign(key, good, { header: { jwk: { ...key.publicJwk, d: 'AAAA' } } }), {}],
      ['bad_key', await resign(key, good, { header: { alg: 'EdDSA' } }), {}],
      ['malformed', await resign(key, good, { claims: { jti: undefined } }), {}],
      ['malformed', await resign(key, good, { claims: { iat: 'now' } }), {}],
      [
        'bad_signature',
        `${good.slice(0, good.lastIndexOf('.'))}.${base64url.encode(new Uint8Array(64))}`,
        {},
      ],
      // The thief's key in the header with the token's jkt claimed: thumbprint mismatch.
      ['wrong_key', await createProof(other, { method: 'GET', url: URL_, token: TOKEN }), {}],
    ]
    for (const [reason, proof, extra] of cases) {
      const err = await refusal(verifyProof(check(key, proof, extra)))
      expect([err.code, err.reason], reason).toEqual(['invalid_proof', reason])
      expect(err.message).not.toContain(TOKEN)
    }
  })

  it('keeps each claimed id until iat + window + tolerance, and fails closed when the cache cannot answer', async () => {
    const key = await generateProofKey()
    const proof = await createProof(key, { method: 'GET', url: URL_, token: TOKEN })
    const seen: [string, Date][] = []
    const recording: ReplayCache = {
      async claim(id, expiresAt) {
        seen.push([id, expiresAt])
        return true
      },
    }
    await verifyProof(check(key, proof, { replay: recording, window: 60, tolerance: 30 }))
    const iat = JSON.parse(new TextDecoder().decode(base64url.decode(proof.split('.')[1]!))).iat
    expect(seen[0]?.[0]).toMatch(new RegExp(`^${key.jkt}:`))
    expect(seen[0]?.[1].getTime()).toBe((iat + 90) * 1000)
    const broken: ReplayCache = { claim: () => Promise.reject(new Error('down')) }
    const fresh = await createProof(key, { method: 'GET', url: URL_, token: TOKEN })
    expect((await refusal(verifyProof(check(key, fresh, { replay: broken })))).code).toBe(
      'revocation_unavailable',
    )
  })

  it('the memory replay cache forgets expired ids and refuses to grow past its bound', async () => {
    let now = 1_000_000
    const cache = createMemoryReplayCache({ maxEntries: 3, now: () => now })
    for (const id of ['a', 'b', 'c']) expect(await cache.claim(id, new Date(now + 1000))).toBe(true)
    expect(await cache.claim('a', new Date(now + 1000))).toBe(false)
    await expect(cache.claim('d', new Date(now + 1000))).rejects.toMatchObject({
      code: 'revocation_unavailable',
    })
    now += 1001
    expect(await cache.claim('d', new Date(now + 1000))).toBe(true)
    expect(await cache.claim('a', new Date(now + 1000))).toBe(true)
    expect(cache.size).toBeLessThanOrEqual(3)
  })

  it('proofTargetUrl drops default ports, keeps others, brackets IPv6', () => {
    expect(proofTargetUrl({ scheme: 'https', host: 'api.example.com', port: 443, path: '/a' })).toBe(
      'https://api.example.com/a',
    )
    expect(proofTargetUrl({ scheme: 'http', host: '127.0.0.1', port: 8080, path: '/a%2Fb' })).toBe(
      'http://127.0.0.1:8080/a%2Fb',
    )
    expect(proofTargetUrl({ scheme: 'https', host: '[::1]', port: 8443, path: '/' })).toBe(
      'https://[::1]:8443/',
    )
  })
})
