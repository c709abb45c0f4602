import { describe, expect, it } from 'vitest'
import { generateKey } from '../../keys/generate-key.js'
import { createKeyring } from '../../keys/keyring.js'
import { mint } from '../../mint.js'
import { checkHeader } from '../../open/parse-header.js'
import { decryptCompact, decryptParsed } from './decrypt-compact.js'
import { nodeDecrypt } from './node-decrypt.js'

const grant = (value: string) => ({
  hosts: ['api.example.com'],
  inject: [{ in: 'header' as const, name: 'Authorization', value }],
  ttl: '1h',
})
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString()

for (const curve of ['P-256', 'X25519'] as const) {
  describe(`nodeDecrypt with the opener's checked header (${curve})`, async () => {
    const keyring = createKeyring([await generateKey({ curve })])
    const jwk = keyring.current
    const curveOf = (kid: string) => keyring.curveOf(kid)
    const tokenA = await mint(grant('Bearer a'), { to: keyring.publicJwks() })
    const tokenB = await mint(grant('Bearer b'), { to: keyring.publicJwks() })

    it('gives the same plaintext with and without it', () => {
      expect(text(nodeDecrypt(tokenA, jwk, checkHeader(tokenA, curveOf)))).toBe(
        text(decryptCompact(tokenA, jwk).plaintext),
      )
    })

    it('ignores a checked header made for another token, or anything shaped like one', () => {
      const forA = checkHeader(tokenA, curveOf)
      expect(text(nodeDecrypt(tokenB, jwk, forA))).toContain('Bearer b')
      const lookalike = { kid: forA.kid, hosts: forA.hosts, header: forA.header }
      expect(text(nodeDecrypt(tokenB, jwk, lookalike))).toContain('Bearer b')
      // The same text in another string object is the same token: the fast path may serve it.
      expect(text(nodeDecrypt(`${tokenA}`, jwk, forA))).toContain('Bearer a')
    })

    it('with a checked header, a segment respelled with non-zero leftover bits is still refused', () => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      // The 16-byte tag is 22 characters: the last carries 4 unused bits. Setting one decodes to
      // the same bytes, so only the canonical-form check can refuse it.
      const last = alphabet.indexOf(tokenA.at(-1)!)
      const respelled = `${tokenA.slice(0, -1)}${alphabet[last ^ 1]}`
      expect(Buffer.from(respelled.slice(respelled.lastIndexOf('.') + 1), 'base64url')).toEqual(
        Buffer.from(tokenA.slice(tokenA.lastIndexOf('.') + 1), 'base64url'),
      )
      const checked = checkHeader(respelled, curveOf)
      expect(() => nodeDecrypt(respelled, jwk, checked)).toThrow(
        expect.objectContaining({ code: 'invalid_token' }),
      )
      expect(text(nodeDecrypt(tokenA, jwk, checkHeader(tokenA, curveOf)))).toContain('Bearer a')
    })

    it('decryptParsed refuses a header that is not the token’s own (the AAD is the segment as sent)', () => {
      const headerOfA = checkHeader(tokenA, curveOf).header
      expect(() => decryptParsed(tokenB, headerOfA, jwk)).toThrow(
        expect.objectContaining({ code: 'invalid_token' }),
      )
    })

    it('decryptParsed refuses a token whose header segment is not base64url, whatever the header', () => {
      const header = checkHeader(tokenA, curveOf).header
      const dot = tokenA.indexOf('.')
      // Same low bytes under latin1, so only the alphabet check can tell them apart.
      const widened = `${String.fromCharCode(tokenA.charCodeAt(0) + 0x100)}${tokenA.slice(1, dot)}${tokenA.slice(dot)}`
      expect(() => decryptParsed(widened, header, jwk)).toThrow(
        expect.objectContaining({ code: 'invalid_token' }),
      )
    })
  })
}
