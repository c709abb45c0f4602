// Direction 2b: tokens with correct cryptography around edited headers and sizes, made by a test-only
// encryptor. Whatever jose refuses, the fast path refuses; whatever both accept opens identically.
import crypto from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encryptJwe, type JweOptions, testKey } from '../kit/index.js'
import { compareVerdicts } from './compare.js'

type Edit = (header: Record<string, unknown>) => unknown
const set =
  (name: string, value: unknown): Edit =>
  (h) => ({ ...h, [name]: value })
const epkEdit =
  (f: (epk: Record<string, unknown>) => unknown): Edit =>
  (h) =>
    typeof h.epk === 'object' && h.epk !== null ? { ...h, epk: f(h.epk as Record<string, unknown>) } : h
const without =
  (name: string): Edit =>
  ({ [name]: _, ...rest }) =>
    rest

const weird = fc.constantFrom<unknown>(null, 1, true, [], {}, '', 'x')

const headerEdit: fc.Arbitrary<Edit> = fc.oneof(
  fc
    .constantFrom(
      'ECDH-ES',
      'ECDH-ES+A128KW',
      'ECDH-ES+A192KW',
      'A256KW',
      'dir',
      'RSA-OAEP-256',
      'PBES2-HS512+A256KW',
      'none',
      'ecdh-es+a256kw',
      'ECDH-ES+A256KW ',
    )
    .map((v) => set('alg', v)),
  weird.map((v) => set('alg', v)),
  fc.constant(without('alg')),
  fc
    .constantFrom('A128GCM', 'A192GCM', 'A256CBC-HS512', 'a256gcm', 'A256GCM\u0000')
    .map((v) => set('enc', v)),
  weird.map((v) => set('enc', v)),
  fc.constant(without('enc')),
  fc.constantFrom<unknown>('DEF', 'def', 'xyz', null, '', 0).map((v) => set('zip', v)),
  fc
    .constantFrom<unknown>([], ['exp'], ['zip'], ['b64'], 'exp', null, [''], ['kid'])
    .map((v) => (h: Record<string, unknown>) => ({ ...h, crit: v, exp: 1 })),
  fc.constant(without('epk')),
  weird.map((v) => set('epk', v)),
  fc.constantFrom('x', 'y', 'crv', 'kty').map((m) => epkEdit(({ [m]: _, ...rest }) => rest)),
  fc.constantFrom('EC', 'OKP', 'oct', 'RSA', '').map((v) => epkEdit((e) => ({ ...e, kty: v }))),
  fc
    .constantFrom('P-256', 'P-384', 'X25519', 'Ed25519', 'X448', 'secp256k1')
    .map((v) => epkEdit((e) => ({ ...e, crv: v }))),
  fc.constantFrom('kid', 'alg', 'use', 'foo').map((m) => epkEdit((e) => ({ ...e, [m]: 'value' }))),
  fc
    .constantFrom<[string, unknown]>(
      ['key_ops', []],
      ['key_ops', ['deriveBits']],
      ['ext', true],
      ['ext', false],
      ['d', 'AAAA'],
      ['k', 'AAAA'],
      ['priv', 'AAAA'],
    )
    .map(([m, v]) => epkEdit((e) => ({ ...e, [m]: v }))),
  fc
    .constantFrom('x', 'y')
    .map((m) => epkEdit((e) => (typeof e[m] === 'string' ? { ...e, [m]: `${e[m]}=` } : e))),
  fc
    .constantFrom('x', 'y')
    .map((m) =>
      epkEdit((e) =>
        typeof e[m] === 'string'
          ? { ...e, [m]: `${(e[m] as string).slice(0, 5)} ${(e[m] as string).slice(5)}` }
          : e,
      ),
    ),
  fc
    .constantFrom('x', 'y')
    .map((m) => epkEdit((e) => (typeof e[m] === 'string' ? { ...e, [m]: `AA${e[m]}` } : e))),
  fc
    .constantFrom('x', 'y')
    .map((m) => epkEdit((e) => (typeof e[m] === 'string' ? { ...e, [m]: (e[m] as string).slice(1) } : e))),
  fc.constantFrom('x', 'y').map((m) => epkEdit((e) => (typeof e[m] === 'string' ? { ...e, [m]: 5 } : e))),
  // A coordinate with one bit flipped: off the curve for P-256, another point for X25519.
  fc.tuple(fc.constantFrom('x', 'y'), fc.nat(255)).map(([m, bit]) =>
    epkEdit((e) => {
      if (typeof e[m] !== 'string') return e
      const bytes = Buffer.from(e[m] as string, 'base64url')
      bytes[bit >> 3]! ^= 1 << (bit & 7)
      return { ...e, [m]: bytes.toString('base64url') }
    }),
  ),
  fc.constant(epkEdit((e) => ({ ...e, y: e.x }))),
  // Another valid epk of either curve (the KEK was derived from the real one).
  fc.constantFrom('P-256', 'X25519').map((c) => epkEdit(() => testKey(c).publicJwk).bind(null)),
  fc
    .dictionary(
      fc
        .string({ minLength: 1, maxLength: 8 })
        .filter((k) => !['alg', 'enc', 'epk', 'apu', 'apv', 'zip', 'crit', '__proto__'].includes(k)),
      fc.jsonValue({ maxDepth: 2 }),
      { minKeys: 1, maxKeys: 3 },
    )
    .map((extra) => (h: Record<string, unknown>) => ({ ...extra, ...h })),
)

// Changes to what is derived, wrapped and sealed, each leaving the header as it is.
const cryptoEdit: fc.Arbitrary<JweOptions> = fc.oneof(
  fc.record({ apu: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ apv: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ apu: fc.uint8Array({ maxLength: 40 }), apv: fc.uint8Array({ maxLength: 40 }) }),
  fc.uint8Array({ maxLength: 8 }).map((b) => ({ apu: b, apv: b })),
  fc.record({
    apu: fc.uint8Array({ maxLength: 16 }),
    apuHeader: fc.constantFrom<unknown>(1, null, [], {}, 'Zg=', 'Zh', ' Zg', 'Zm9v+'),
  }),
  fc.record({
    apv: fc.uint8Array({ maxLength: 16 }),
    apvHeader: fc.constantFrom<unknown>(1, null, [], {}, 'Zg=', 'Zh', ' Zg', 'Zm9v+'),
  }),
  fc.constantFrom('ECDH-ES', 'A256KW', 'ECDH-ES+A128KW', 'A256GCM').map((algorithmId) => ({ algorithmId })),
  fc.constantFrom(128, 192, 512, 0).map((kdfKeyBits) => ({ kdfKeyBits })),
  fc.constantFrom(16, 24, 40, 48).map((n) => ({ cek: crypto.randomBytes(n) })),
  fc.constantFrom(1, 8, 11, 13, 16).map((n) => ({ iv: crypto.randomBytes(n) })),
  fc.constantFrom(4, 8, 12, 13, 14, 15).map((tagLength) => ({ tagLength })),
  fc.uint8Array({ maxLength: 64 }).map((plaintext) => ({ plaintext })),
  fc.constant({ plaintext: new Uint8Array(0) }),
  fc
    .constantFrom<'P-256' | 'P-384' | 'X25519'>('P-256', 'P-384', 'X25519')
    .map((ephemeralCurve) => ({ ephemeralCurve })),
)

const rawHeader: fc.Arbitrary<JweOptions> = fc.oneof(
  fc
    .constantFrom('null', '[]', '"str"', '1', 'true', '{', '', '{"alg":"ECDH-ES+A256KW"}')
    .map((s) => ({ headerBytes: Buffer.from(s) })),
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map((headerBytes) => ({ headerBytes })),
)

for (const curve of ['P-256', 'X25519'] as const) {
  describe(`crafted ${curve} tokens`, () => {
    const key = testKey(curve)

    it('header edits: jose and the fast path agree', async () => {
      const seen = { bothAccept: 0, bothRefuse: 0, stricter: 0 }
      await fc.assert(
        fc.asyncProperty(fc.array(headerEdit, { minLength: 1, maxLength: 3 }), async (edits) => {
          const token = encryptJwe(key.publicJwk, {
            header: (h) => edits.reduce<unknown>((acc, edit) => edit(acc as Record<string, unknown>), h),
          })
          const { jose, fast, disagreement } = await compareVerdicts(token, key.privateJwk)
          if (disagreement) seen.stricter++
          else if (fast.ok) seen.bothAccept++
          else if (!jose.ok) seen.bothRefuse++
        }),
        { numRuns: 600 },
      )
      expect(seen.bothAccept).toBeGreaterThan(0)
      expect(seen.bothRefuse).toBeGreaterThan(100)
    })

    it('key derivation, wrapping and sealing edits: jose and the fast path agree', async () => {
      const seen = { bothAccept: 0, bothRefuse: 0 }
      await fc.assert(
        fc.asyncProperty(fc.array(cryptoEdit, { minLength: 1, maxLength: 2 }), async (edits) => {
          const token = encryptJwe(key.publicJwk, Object.assign({}, ...edits))
          const { jose, fast } = await compareVerdicts(token, key.privateJwk)
          if (fast.ok) seen.bothAccept++
          else if (!jose.ok) seen.bothRefuse++
        }),
        { numRuns: 400 },
      )
      expect(seen.bothAccept).toBeGreaterThan(0)
      expect(seen.bothRefuse).toBeGreaterThan(0)
    })

    it('raw header bytes: jose and the fast path agree', async () => {
      await fc.assert(
        fc.asyncProperty(rawHeader, async (options) => {
          const { fast } = await compareVerdicts(encryptJwe(key.publicJwk, options), key.privateJwk)
          expect(fast.ok).toBe(false)
        }),
        { numRuns: 100 },
      )
    })
  })
}

describe('crafted tokens with known verdicts', () => {
  const accepted = async (token: string, key: ReturnType<typeof testKey>) => {
    const { jose, fast } = await compareVerdicts(token, key.privateJwk)
    return { jose: jose.ok, fast: fast.ok }
  }

  for (const curve of ['P-256', 'X25519'] as const) {
    const key = testKey(curve)
    it(`${curve}: apu/apv present are used in the KDF`, async () => {
      expect(
        await accepted(
          encryptJwe(key.publicJwk, { apu: Buffer.from('Alice'), apv: Buffer.from('Bob') }),
          key,
        ),
      ).toEqual({ jose: true, fast: true })
      expect(await accepted(encryptJwe(key.publicJwk, { apu: Buffer.from('Alice') }), key)).toEqual({
        jose: true,
        fast: true,
      })
      expect(await accepted(encryptJwe(key.publicJwk, { apv: Buffer.alloc(0) }), key)).toEqual({
        jose: true,
        fast: true,
      })
      // The header says Alice but the KEK was derived with Eve: the wrong KEK fails the unwrap.
      expect(
        await accepted(encryptJwe(key.publicJwk, { apu: Buffer.from('Eve'), apuHeader: 'QWxpY2U' }), key),
      ).toEqual({
        jose: false,
        fast: false,
      })
      expect(
        await accepted(
          encryptJwe(key.publicJwk, { apu: Buffer.from('same'), apv: Buffer.from('same') }),
          key,
        ),
      ).toEqual({ jose: false, fast: false })
    })

    it(`${curve}: zip, crit, other alg/enc and epk of the other curve are refused`, async () => {
      for (const header of [
        set('zip', 'DEF'),
        (h: Record<string, unknown>) => ({ ...h, crit: ['exp'], exp: 1 }),
        set('alg', 'ECDH-ES'),
        set('enc', 'A128GCM'),
        epkEdit(() => testKey(curve === 'P-256' ? 'X25519' : 'P-256').publicJwk),
      ]) {
        expect(await accepted(encryptJwe(key.publicJwk, { header }), key)).toEqual({
          jose: false,
          fast: false,
        })
      }
    })

    it(`${curve}: an epk that jose tolerates with key_ops/ext is refused by the fast path only`, async () => {
      expect(
        await accepted(encryptJwe(key.publicJwk, { header: epkEdit((e) => ({ ...e, key_ops: [] })) }), key),
      ).toEqual({
        jose: true,
        fast: false,
      })
      expect(
        await accepted(
          encryptJwe(key.publicJwk, { header: epkEdit((e) => ({ ...e, kid: 'k', alg: 'x' })) }),
          key,
        ),
      ).toEqual({ jose: true, fast: true })
    })
  }

  it('P-256: an off-curve epk is refused by both', async () => {
    const key = testKey('P-256')
    const token = encryptJwe(key.publicJwk, {
      header: epkEdit((e) => {
        const y = Buffer.from(e.y as string, 'base64url')
        y[31]! ^= 1
        return { ...e, y: y.toString('base64url') }
      }),
    })
    expect(await accepted(token, key)).toEqual({ jose: false, fast: false })
  })

  it('P-256: the negated epk point is a valid point with the same shared secret (control)', async () => {
    // Control for the off-curve test: (x, p - y) is on the curve and d·(x, -y) has the same x as
    // d·(x, y), so both decryptors open the token. The refusal above is the curve check, not parsing.
    const key = testKey('P-256')
    const token = encryptJwe(key.publicJwk, {
      header: epkEdit((e) => {
        const p = BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff')
        const y = BigInt(`0x${Buffer.from(e.y as string, 'base64url').toString('hex')}`)
        return { ...e, y: Buffer.from((p - y).toString(16).padStart(64, '0'), 'hex').toString('base64url') }
      }),
    })
    expect(await accepted(token, key)).toEqual({ jose: true, fast: true })
  })

  it('X25519: an epk with the high bit set is the same point to both (RFC 7748 masks it)', async () => {
    const key = testKey('X25519')
    const token = encryptJwe(key.publicJwk, {
      header: epkEdit((e) => {
        const x = Buffer.from(e.x as string, 'base64url')
        x[31]! |= 0x80
        return { ...e, x: x.toString('base64url') }
      }),
    })
    expect(await accepted(token, key)).toEqual({ jose: true, fast: true })
  })

  it('X25519: low-order epk points (all-zero shared secret) are refused by both', async () => {
    const key = testKey('X25519')
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ]
    for (const hex of lowOrder) {
      // The KEK is derived from Z = 0, so a decryptor that let the zero secret through would open it.
      const token = encryptJwe(key.publicJwk, {
        z: new Uint8Array(32),
        header: epkEdit((e) => ({ ...e, x: Buffer.from(hex, 'hex').toString('base64url') })),
      })
      expect(await accepted(token, key)).toEqual({ jose: false, fast: false })
    }
  })
})
