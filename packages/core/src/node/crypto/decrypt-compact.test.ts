import { CompactEncrypt } from 'jose'
import { describe, expect, it } from 'vitest'
import { encryptJwe, testKey } from '../../../test/kit/index.js'
import { isKeyholeError } from '../../errors.js'
import { decryptCompact } from './decrypt-compact.js'
import { prepareKey } from './prepare-key.js'

const SECRET = 'Bearer ghp_super_secret_value'

async function joseToken(curve: 'P-256' | 'X25519') {
  const key = testKey(curve)
  const claims = {
    jti: 'j',
    hosts: ['api.example.com'],
    inject: [{ in: 'header', name: 'Authorization', value: SECRET }],
  }
  const token = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({
      alg: 'ECDH-ES+A256KW',
      enc: 'A256GCM',
      kid: key.privateJwk.kid,
      typ: 'keyhole+jwt',
      hosts: claims.hosts,
    })
    .encrypt(key.publicJwk as never)
  return { key, token, claims }
}

function refusal(run: () => unknown): Error {
  try {
    run()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a refusal')
}

describe('decryptCompact', () => {
  for (const curve of ['P-256', 'X25519'] as const) {
    it(`${curve}: returns the header and plaintext of a keyhole token`, async () => {
      const { key, token, claims } = await joseToken(curve)
      const { protectedHeader, plaintext } = decryptCompact(token, key.privateJwk)
      expect(protectedHeader).toMatchObject({
        alg: 'ECDH-ES+A256KW',
        enc: 'A256GCM',
        kid: key.privateJwk.kid,
        typ: 'keyhole+jwt',
      })
      expect(JSON.parse(Buffer.from(plaintext).toString())).toEqual(claims)
      // The plaintext owns its memory, so zeroing it cannot touch anything else and really erases it.
      expect(plaintext.byteOffset).toBe(0)
      expect(plaintext.buffer.byteLength).toBe(plaintext.length)
    })

    it(`${curve}: a resolver picks the key from the header`, async () => {
      const { key, token } = await joseToken(curve)
      const prepared = prepareKey(key.privateJwk)
      const seen: unknown[] = []
      const out = decryptCompact(token, (header) => {
        seen.push(header.kid)
        return header.kid === prepared.kid ? prepared : undefined
      })
      expect(seen).toEqual([key.privateJwk.kid])
      expect(out.plaintext.length).toBeGreaterThan(0)
      // An unknown kid is an invalid token; the resolver's own errors pass through untouched.
      expect(() => decryptCompact(token, () => undefined)).toThrow(
        expect.objectContaining({ code: 'invalid_token' }),
      )
      const own = new Error('resolver failed')
      expect(
        refusal(() =>
          decryptCompact(token, () => {
            throw own
          }),
        ),
      ).toBe(own)
    })

    it(`${curve}: refuses a token under a key of the other curve`, async () => {
      const { token } = await joseToken(curve)
      const other = testKey(curve === 'P-256' ? 'X25519' : 'P-256')
      expect(() => decryptCompact(token, other.privateJwk)).toThrow(
        expect.objectContaining({ code: 'invalid_token' }),
      )
    })
  }

  it('every refusal is the same bare invalid_token, with nothing of the token in it', async () => {
    const { key, token } = await joseToken('P-256')
    const [h, k, iv, c, t] = token.split('.') as [string, string, string, string, string]
    const flip = (s: string) =>
      s[5] === 'A' ? `${s.slice(0, 5)}B${s.slice(6)}` : `${s.slice(0, 5)}A${s.slice(6)}`
    const cases: unknown[] = [
      undefined,
      42,
      '',
      '....',
      [h, k, iv, c].join('.'),
      [h, k, iv, c, t, ''].join('.'),
      [h, k, iv, c, flip(t)].join('.'),
      [h, k, iv, flip(c), t].join('.'),
      [h, k, flip(iv), c, t].join('.'),
      [h, flip(k), iv, c, t].join('.'),
      [flip(h), k, iv, c, t].join('.'),
      [h, '', iv, c, t].join('.'),
      [h, k, '', c, t].join('.'),
      [h, k, iv, c, ''].join('.'),
      [Buffer.from('{"alg":"ECDH-ES+A256KW"').toString('base64url'), k, iv, c, t].join('.'),
      [Buffer.from('[1]').toString('base64url'), k, iv, c, t].join('.'),
      [Buffer.from([0xff, 0xfe, 0x7b, 0x7d]).toString('base64url'), k, iv, c, t].join('.'),
      encryptJwe(key.publicJwk, { header: (x) => ({ ...x, zip: 'DEF' }) }),
      encryptJwe(key.publicJwk, { header: (x) => ({ ...x, crit: ['b64'], b64: true }) }),
    ]
    for (const input of cases) {
      const error = refusal(() => decryptCompact(input as string, key.privateJwk))
      expect(isKeyholeError(error, 'invalid_token')).toBe(true)
      expect(error.message).toBe('invalid token')
      expect(error.cause).toBeUndefined()
      const shown = `${String(error)}\n${error.stack}\n${JSON.stringify(error)}`
      for (const segment of [h, k, iv, c, t]) expect(shown).not.toContain(segment.slice(0, 16))
      expect(shown).not.toContain(SECRET)
      expect(shown).not.toContain(key.privateJwk.d)
    }
  })

  it('a header that differs only in its unauthenticated spelling is refused', async () => {
    // Same JSON, different bytes: the AAD is the segment as sent, so the tag no longer verifies.
    const { key, token } = await joseToken('X25519')
    const [h, ...rest] = token.split('.')
    const respelled = Buffer.from(`${Buffer.from(h!, 'base64url').toString()} `).toString('base64url')
    expect(() => decryptCompact([respelled, ...rest].join('.'), key.privateJwk)).toThrow('invalid token')
  })
})
