// The adversarial suite for open(): every way a token can be broken, forged or bent returns its
// code, every error is checked for leaked secrets, and revocation survives re-encodings.
import { inspect } from 'node:util'
import fc from 'fast-check'
import { base64url, CompactEncrypt, generateKeyPair } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { isKeyholeError, type KeyholeError } from '../src/errors.js'
import { generateKey } from '../src/keys/generate-key.js'
import { toPublicJwk } from '../src/keys/jwk.js'
import { createKeyring, type Keyring } from '../src/keys/keyring.js'
import { mint } from '../src/mint.js'
import { createOpener, type Opener } from '../src/open/opener.js'
import type { KeyholePrivateJwk, KeyholePublicJwk } from '../src/types.js'
import {
  craftJws,
  craftSigned,
  craftToken,
  encodeHeader,
  flipChar,
  keyholeHeader,
  SECRET,
  seal,
  validClaims,
  withSegment,
} from './kit/index.js'
import { testIssuer, testIssuers } from './kit/issuer.js'

let key: KeyholePrivateJwk
let pub: KeyholePublicJwk
let other: KeyholePrivateJwk
let x25519: KeyholePrivateJwk
let keyring: Keyring
let opener: Opener
let token: string

// Every error any test below provokes, and every token it sends, for the leak check at the end.
const errors: unknown[] = []
const sent: string[] = []

function codeOf(err: unknown): string {
  errors.push(err)
  return (err as KeyholeError).code
}

async function outcome(candidate: string, using: Opener = opener): Promise<string> {
  sent.push(candidate)
  try {
    await using.open(candidate)
    return 'ok'
  } catch (err) {
    errors.push(err)
    if (!isKeyholeError(err)) throw err
    return err.code
  }
}

function header(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...keyholeHeader(key, ['api.example.com']), ...overrides }
}

beforeAll(async () => {
  key = await generateKey()
  pub = toPublicJwk(key)
  other = await generateKey()
  x25519 = await generateKey({ curve: 'X25519' })
  keyring = createKeyring([key])
  opener = createOpener({ keyring, issuers: testIssuers, cacheSize: 0 })
  token = await mint(
    {
      hosts: ['api.example.com'],
      inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }],
      ttl: '1h',
    },
    { to: pub, signWith: testIssuer },
  )
})

describe('controls: the helpers build tokens that do open', () => {
  it('the minted token opens', async () => {
    expect(await outcome(token)).toBe('ok')
  })
  it('craftToken with keyhole’s header opens where unsigned tokens are accepted, and only there', async () => {
    const unsigned = await craftToken(pub)
    expect(await outcome(unsigned, createOpener({ keyring, acceptUnsigned: true }))).toBe('ok')
    expect(await outcome(unsigned)).toBe('invalid_token')
  })
  it('craftJws + craftSigned with keyhole’s headers opens', async () => {
    expect(await outcome(await craftSigned(pub))).toBe('ok')
  })
  it('seal (hand-made ECDH-ES+A256KW) with keyhole’s header opens', async () => {
    const claims = validClaims()
    const { token: raw } = await seal(
      pub,
      (epk) => JSON.stringify({ ...header(), epk }),
      await craftJws(claims, testIssuer),
    )
    expect(await outcome(raw)).toBe('ok')
  })
})

describe('tampering with any segment is invalid_token', () => {
  const middle = (s: string) => Math.floor(s.length / 2)
  it.each([
    ['header', 0],
    ['encrypted key', 1],
    ['IV', 2],
    ['ciphertext', 3],
    ['tag', 4],
  ])('%s', async (_name, index) => {
    expect(await outcome(withSegment(token, index, (s) => flipChar(s, middle(s), 1)))).toBe('invalid_token')
    expect(await outcome(withSegment(token, index, (s) => flipChar(s, 0, 32)))).toBe('invalid_token')
  })

  it('a header re-serialized with the same members (the AAD changes)', async () => {
    const parsed = JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[0]!)))
    const respaced = base64url.encode(JSON.stringify(parsed, null, 1))
    expect(await outcome(withSegment(token, 0, () => respaced))).toBe('invalid_token')
    const reordered = base64url.encode(JSON.stringify(Object.fromEntries(Object.entries(parsed).reverse())))
    expect(await outcome(withSegment(token, 0, () => reordered))).toBe('invalid_token')
  })

  it('a header swapped for another valid token’s header', async () => {
    const second = await craftSigned(pub)
    expect(await outcome(withSegment(token, 0, () => second.split('.')[0]!))).toBe('invalid_token')
  })
})

describe('malformed compact serialization is invalid_token', () => {
  it.each([
    ['truncated by a few characters', (t: string) => t.slice(0, -3)],
    ['cut in half', (t: string) => t.slice(0, Math.floor(t.length / 2))],
    ['missing the tag segment', (t: string) => t.split('.').slice(0, 4).join('.')],
    ['an extra segment', (t: string) => `${t}.AAAA`],
    ['an extra empty segment', (t: string) => `${t}.`],
    ['an empty encrypted key', (t: string) => withSegment(t, 1, () => '')],
    ['a space inside', (t: string) => withSegment(t, 3, (s) => `${s.slice(0, 5)} ${s.slice(5)}`)],
    ['a newline inside', (t: string) => withSegment(t, 1, (s) => `${s.slice(0, 20)}\n${s.slice(20)}`)],
    ['a tab inside', (t: string) => withSegment(t, 4, (s) => `${s.slice(0, 4)}\t${s.slice(4)}`)],
    ['leading whitespace', (t: string) => ` ${t}`],
    ['trailing newline', (t: string) => `${t}\n`],
    ['base64 padding', (t: string) => withSegment(t, 4, (s) => `${s}==`)],
    ['standard base64 characters', (t: string) => withSegment(t, 3, (s) => `+/${s.slice(2)}`)],
    ['non-ASCII characters', (t: string) => withSegment(t, 3, (s) => `é${s.slice(1)}`)],
    [
      'a JSON serialization',
      (t: string) => JSON.stringify({ protected: t.split('.')[0], ciphertext: t.split('.')[3] }),
    ],
    ['empty', () => ''],
    ['five dots', () => '....'],
  ])('%s', async (_name, change) => {
    expect(await outcome(change(token))).toBe('invalid_token')
  })

  it('an oversized token, checked before parsing (and opens with a larger limit)', async () => {
    const claims = validClaims()
    const big = await craftSigned(pub, {
      claims: {
        ...claims,
        inject: [{ in: 'header', name: 'X-Api-Key', value: `${SECRET}${'x'.repeat(7000)}` }],
      },
    })
    expect(big.length).toBeGreaterThan(8192)
    expect(await outcome(big)).toBe('invalid_token')
    expect(await outcome(big, createOpener({ keyring, issuers: testIssuers, maxTokenBytes: 16_384 }))).toBe(
      'ok',
    )
    expect(await outcome('x'.repeat(100_000))).toBe('invalid_token')
  })
})

describe('disallowed algorithms and header members are invalid_token', () => {
  it('alg dir', async () => {
    const cek = crypto.getRandomValues(new Uint8Array(32))
    const forged = await new CompactEncrypt(
      new TextEncoder().encode(await craftJws(validClaims(), testIssuer)),
    )
      .setProtectedHeader({
        alg: 'dir',
        enc: 'A256GCM',
        kid: key.kid,
        typ: 'keyhole+jwt',
        cty: 'JWT',
        hosts: ['api.example.com'],
      })
      .encrypt(cek)
    expect(await outcome(forged)).toBe('invalid_token')
  })

  it('alg none', async () => {
    const parts = token.split('.')
    for (const alg of ['none', 'NONE', '']) {
      const forged = [encodeHeader(header({ alg })), ...parts.slice(1)].join('.')
      expect(await outcome(forged)).toBe('invalid_token')
    }
  })

  it('RSA-OAEP-256 and RSA1_5', async () => {
    const { publicKey } = await generateKeyPair('RSA-OAEP-256', { modulusLength: 2048 })
    const forged = await new CompactEncrypt(
      new TextEncoder().encode(await craftJws(validClaims(), testIssuer)),
    )
      .setProtectedHeader({
        alg: 'RSA-OAEP-256',
        enc: 'A256GCM',
        kid: key.kid,
        typ: 'keyhole+jwt',
        cty: 'JWT',
        hosts: ['api.example.com'],
      })
      .encrypt(publicKey)
    expect(await outcome(forged)).toBe('invalid_token')
    const parts = token.split('.')
    expect(await outcome([encodeHeader(header({ alg: 'RSA1_5' })), ...parts.slice(1)].join('.'))).toBe(
      'invalid_token',
    )
  })

  it('PBES2', async () => {
    const forged = await new CompactEncrypt(
      new TextEncoder().encode(await craftJws(validClaims(), testIssuer)),
    )
      .setProtectedHeader({
        alg: 'PBES2-HS256+A128KW',
        enc: 'A256GCM',
        kid: key.kid,
        typ: 'keyhole+jwt',
        cty: 'JWT',
        hosts: ['api.example.com'],
      })
      .encrypt(new TextEncoder().encode('correct horse battery staple'))
    expect(await outcome(forged)).toBe('invalid_token')
  })

  it('zip (a properly encrypted, compressed token)', async () => {
    expect(await outcome(await craftSigned(pub, { header: { zip: 'DEF' } }))).toBe('invalid_token')
  })

  it('crit (properly encrypted, hand-made since jose will not write it)', async () => {
    const claims = await craftJws(validClaims(), testIssuer)
    const { token: forged } = await seal(
      pub,
      (epk) => JSON.stringify({ ...header({ crit: ['exp'], exp: 1 }), epk }),
      claims,
    )
    expect(await outcome(forged)).toBe('invalid_token')
  })

  it('enc other than A256GCM', async () => {
    for (const enc of ['A128GCM', 'A256CBC-HS512']) {
      expect(await outcome(await craftSigned(pub, { header: { enc } }))).toBe('invalid_token')
    }
  })

  it('typ missing or different', async () => {
    expect(await outcome(await craftSigned(pub, { header: { typ: undefined } }))).toBe('invalid_token')
    expect(await outcome(await craftSigned(pub, { header: { typ: 'JWT' } }))).toBe('invalid_token')
  })

  it('unknown header members (jku, x5u, apu/apv) and an unknown cty', async () => {
    for (const extra of [
      { jku: 'https://evil.example/jwks' },
      { x5u: 'https://evil.example/cert' },
      { apu: 'QWxpY2U', apv: 'Qm9i' },
      { cty: 'json' },
    ]) {
      expect(await outcome(await craftSigned(pub, { header: extra }))).toBe('invalid_token')
    }
  })

  it('a duplicated header member (hand-made)', async () => {
    const claims = await craftJws(validClaims(), testIssuer)
    const { token: forged } = await seal(
      pub,
      (epk) =>
        JSON.stringify({ ...header(), epk }).replace(
          '"alg":"ECDH-ES+A256KW"',
          '"alg":"dir","alg":"ECDH-ES+A256KW"',
        ),
      claims,
    )
    // JSON.parse keeps the last value, as jose does, so this one opens: what the opener checked
    // is what jose used. The control below proves the header was really duplicated.
    expect(new TextDecoder().decode(base64url.decode(forged.split('.')[0]!))).toContain('"alg":"dir","alg"')
    expect(await outcome(forged)).toBe('ok')
  })
})

describe('keys: unknown kid, wrong key, mismatched curve are invalid_token', () => {
  it('unknown kid', async () => {
    expect(await outcome(await craftSigned(pub, { header: { kid: 'unknown-kid' } }))).toBe('invalid_token')
    expect(await outcome(await craftSigned(pub, { header: { kid: undefined } }))).toBe('invalid_token')
    expect(await outcome(await craftSigned(pub, { header: { kid: '__proto__' } }))).toBe('invalid_token')
  })

  it('encrypted to another key but labelled with ours', async () => {
    const forged = await craftSigned({ ...toPublicJwk(other), kid: key.kid })
    expect(await outcome(forged)).toBe('invalid_token')
  })

  it('minted for another key', async () => {
    const forged = await mint(
      { hosts: ['api.example.com'], inject: [{ in: 'header', name: 'X-Key', value: SECRET }], ttl: '1h' },
      { to: toPublicJwk(other), signWith: testIssuer },
    )
    expect(await outcome(forged)).toBe('invalid_token')
  })

  it('an X25519 epk for a P-256 key', async () => {
    const forged = await craftSigned({ ...toPublicJwk(x25519), kid: key.kid })
    expect(await outcome(forged)).toBe('invalid_token')
  })

  it('an epk with extra or private members', async () => {
    const claims = await craftJws(validClaims(), testIssuer)
    for (const extra of [{ d: 'AAAA' }, { kid: 'x' }, { alg: 'ECDH-ES' }]) {
      const { token: forged } = await seal(
        pub,
        (epk) => JSON.stringify({ ...header(), epk: { ...epk, ...extra } }),
        claims,
      )
      expect(await outcome(forged)).toBe('invalid_token')
    }
  })
})

describe('claims', () => {
  const now = () => Math.floor(Date.now() / 1000)
  const without = (name: string) => ({ ...validClaims(), [name]: undefined })

  it.each(['jti', 'iat', 'exp', 'hosts', 'inject'])('missing %s is invalid_token', async (name) => {
    const claims = without(name)
    const forged = await craftSigned(pub, { claims, header: { hosts: claims.hosts ?? ['api.example.com'] } })
    expect(await outcome(forged)).toBe('invalid_token')
  })

  it.each([
    ['exp as a string', { exp: String(now() + 3600) }],
    ['exp before iat', { exp: now() - 10, iat: now() }],
    ['a numeric jti', { jti: 12345 }],
    ['an empty jti', { jti: '' }],
    ['an empty inject list', { inject: [] }],
    [
      'an inject value with CR LF',
      { inject: [{ in: 'header', name: 'X-Key', value: `${SECRET}\r\nHost: evil` }] },
    ],
    ['an injected Host header', { inject: [{ in: 'header', name: 'Host', value: SECRET }] }],
    ['inject not a list', { inject: { in: 'header', name: 'X-Key', value: SECRET } }],
    ['empty methods', { methods: [] }],
    ['a malformed path', { paths: ['relative/path'] }],
    ['sub not a string', { sub: 7 }],
    ['aud a number', { aud: 7 }],
    ['nbf not a number', { nbf: 'soon' }],
  ])('%s is invalid_token', async (_name, change) => {
    expect(await outcome(await craftSigned(pub, { claims: { ...validClaims(), ...change } }))).toBe(
      'invalid_token',
    )
  })

  it('plaintext that is not a JSON object is invalid_token', async () => {
    for (const plaintext of ['not json', '[1,2,3]', 'null', '"string"', '\xff\xfe']) {
      expect(await outcome(await craftSigned(pub, { claims: plaintext }))).toBe('invalid_token')
    }
  })

  it('a hosts hint that differs from the claims is invalid_token', async () => {
    const claims = validClaims()
    for (const hosts of [
      ['evil.example.com'],
      ['api.example.com', 'evil.example.com'],
      ['API.example.com'],
      [],
    ]) {
      expect(await outcome(await craftSigned(pub, { claims, header: { hosts } }))).toBe('invalid_token')
    }
    expect(await outcome(await craftSigned(pub, { claims, header: { hosts: undefined } }))).toBe(
      'invalid_token',
    )
    expect(await outcome(await craftSigned(pub, { claims, header: { hosts: 'api.example.com' } }))).toBe(
      'invalid_token',
    )
  })

  it('exp in the past is token_expired', async () => {
    const claims = { ...validClaims(), iat: now() - 7200, exp: now() - 3600 }
    expect(await outcome(await craftSigned(pub, { claims }))).toBe('token_expired')
  })

  it('nbf in the future is token_not_yet_valid', async () => {
    const claims = { ...validClaims(), nbf: now() + 600 }
    expect(await outcome(await craftSigned(pub, { claims }))).toBe('token_not_yet_valid')
  })

  it('a lifetime over maxTtl is invalid_token', async () => {
    const claims = { ...validClaims(), exp: now() + 25 * 3600 }
    expect(await outcome(await craftSigned(pub, { claims }))).toBe('invalid_token')
  })

  it('extra claims are dropped from the grant', async () => {
    const grant = await opener.open(await craftSigned(pub, { claims: { ...validClaims(), admin: true } }))
    expect(grant).not.toHaveProperty('admin')
  })
})

describe('properties', () => {
  it('any string is refused with a KeyholeError invalid_token, never another error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String()),
        async (input) => {
          expect(await outcome(input)).toBe('invalid_token')
        },
      ),
      { numRuns: 300 },
    )
  })

  it('any single-character change either fails as invalid_token or decodes to the same token', async () => {
    const { jti } = await opener.open(token)
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.= '),
        async (at, char) => {
          const changed = token.slice(0, at) + char + token.slice(at + 1)
          fc.pre(changed !== token)
          sent.push(changed)
          const result = await opener.open(changed).then((g) => g.jti, codeOf)
          expect([jti, 'invalid_token']).toContain(result)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('revocation is by jti and survives re-encodings', () => {
  it('every alteration of a revoked token that still decrypts is still revoked', async () => {
    const revocable = createOpener({ keyring, issuers: testIssuers })
    const original = await mint(
      { hosts: ['api.example.com'], inject: [{ in: 'query', name: 'api_key', value: SECRET }], ttl: '1h' },
      { to: pub, signWith: testIssuer },
    )
    const { jti, exp } = await revocable.open(original)
    // Base64url characters whose low bits fall outside the encoded bytes decode to the same
    // bytes, so these strings differ from the original yet decrypt to the same claims.
    const variants: string[] = []
    for (const index of [1, 2, 3, 4])
      for (const xor of [1, 2, 3]) variants.push(withSegment(original, index, (s) => flipChar(s, -1, xor)))
    variants.push(
      withSegment(original, 4, (s) => `${s}=`),
      withSegment(original, 4, (s) => `${s}==`),
      ` ${original}`,
      `${original} `,
      withSegment(original, 3, (s) => `${s.slice(0, 4)}\n${s.slice(4)}`),
      original.replace(/\./g, '..'),
    )
    const before = new Map<string, string>()
    for (const variant of variants) {
      sent.push(variant)
      before.set(variant, await revocable.open(variant).then((g) => g.jti, codeOf))
    }
    const decrypting = variants.filter((v) => before.get(v) === jti)
    // The test is only meaningful if some re-encodings really decrypt (the slack-bit ones do).
    expect(decrypting.length).toBeGreaterThanOrEqual(3)
    for (const v of variants) expect([jti, 'invalid_token']).toContain(before.get(v))

    await revocable.revocations.revoke(jti, new Date(exp * 1000))
    expect(await outcome(original, revocable)).toBe('token_revoked')
    for (const variant of variants) {
      expect(await outcome(variant, revocable)).toBe(
        decrypting.includes(variant) ? 'token_revoked' : 'invalid_token',
      )
    }
    // Cache off as well: the same holds when every variant is decrypted afresh.
    const uncached = createOpener({
      keyring,
      issuers: testIssuers,
      cacheSize: 0,
      revocations: revocable.revocations,
    })
    for (const variant of decrypting) expect(await outcome(variant, uncached)).toBe('token_revoked')
  })
})

describe('no secret in any error', () => {
  it('no error message, cause or stack contains a token, a token segment, a credential or a key', () => {
    expect(errors.length).toBeGreaterThan(150)
    const secrets = [SECRET, key.d, other.d, x25519.d]
    for (const candidate of sent) {
      if (candidate.length >= 16) secrets.push(candidate)
      for (const segment of candidate.split('.')) if (segment.length >= 16) secrets.push(segment)
    }
    for (const err of errors) {
      expect(isKeyholeError(err)).toBe(true)
      const rendered = [
        inspect(err, { depth: 10 }),
        (err as Error).message,
        (err as Error).stack ?? '',
        JSON.stringify(err),
        String((err as Error).cause ?? ''),
      ].join('\n')
      for (const secret of secrets) {
        if (rendered.includes(secret))
          throw new Error(`an error contains a secret or token: ${(err as Error).message}`)
      }
    }
  })

  it('every pre-claims failure has the same message and no cause', () => {
    const invalid = errors.filter((e) => isKeyholeError(e, 'invalid_token')) as KeyholeError[]
    expect(invalid.length).toBeGreaterThan(100)
    expect(new Set(invalid.map((e) => e.message)).size).toBe(1)
    expect(invalid.every((e) => e.cause === undefined)).toBe(true)
  })
})
