import { describe, expect, it } from 'vitest'
import { testIssuer, testIssuers } from '../../test/kit/issuer.js'
import { generateKey } from '../keys/generate-key.js'
import { createKeyring } from '../keys/keyring.js'
import { mint } from '../mint.js'
import { createOpener } from '../open/opener.js'
import { createNodeOpener } from './node-opener.js'

const B64U = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const grant = {
  hosts: ['api.example.com'],
  inject: [{ in: 'header' as const, name: 'Authorization', value: 'Bearer secret-value' }],
  ttl: '1h',
}

/**
 * The same token with the tag's last character changed in its four unused bits only: jose
 * decodes it to the same bytes and opens it, nodeDecrypt refuses non-canonical base64url. So
 * which of the two an opener uses shows in whether it opens this.
 */
function nonCanonical(token: string): string {
  const parts = token.split('.')
  const tag = parts[4] as string
  const last = B64U.indexOf(tag.at(-1) as string)
  parts[4] = tag.slice(0, -1) + B64U[last ^ 1]
  return parts.join('.')
}

describe('createNodeOpener', () => {
  it('decrypts with nodeDecrypt unless told otherwise', async () => {
    const keyring = createKeyring([await generateKey()])
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    const odd = nonCanonical(token)

    expect((await createNodeOpener({ keyring, issuers: testIssuers }).open(token)).hosts).toEqual([
      'api.example.com',
    ])
    // jose (core's default) opens the non-canonical spelling; the node opener does not.
    expect((await createOpener({ keyring, issuers: testIssuers }).open(odd)).hosts).toEqual([
      'api.example.com',
    ])
    await expect(createNodeOpener({ keyring, issuers: testIssuers }).open(odd)).rejects.toMatchObject({
      code: 'invalid_token',
    })
  })

  it('takes the decrypt option over its default', async () => {
    const keyring = createKeyring([await generateKey({ curve: 'X25519' })])
    const token = await mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
    let calls = 0
    const opener = createNodeOpener({
      keyring,
      issuers: testIssuers,
      decrypt: () => {
        calls++
        throw new Error('refused')
      },
    })
    await expect(opener.open(token)).rejects.toMatchObject({ code: 'invalid_token' })
    expect(calls).toBe(1)
  })

  it('opens one new token once however many requests bring it at the same time, warm or cold', async () => {
    for (const curve of ['P-256', 'X25519'] as const) {
      const keyring = createKeyring([await generateKey({ curve })])
      const opener = createNodeOpener({ keyring, issuers: testIssuers })
      const mintOne = () => mint(grant, { to: keyring.publicJwks(), signWith: testIssuer })
      // Cold: the keyring key is imported first, so the opens wait and share one decryption.
      const cold = await mintOne()
      const first = await Promise.all(Array.from({ length: 5 }, () => opener.open(cold)))
      expect(new Set(first).size).toBe(1)
      expect(opener.stats.decryptions).toBe(1)
      // Warm: the first open finishes without waiting and caches; the others find it there.
      const warm = await mintOne()
      const second = await Promise.all(Array.from({ length: 5 }, () => opener.open(warm)))
      expect(new Set(second).size).toBe(1)
      expect(opener.stats).toMatchObject({ decryptions: 2, cacheHits: 4 })
    }
  })
})
