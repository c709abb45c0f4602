// The attacked tokens: every way a valid token can be mutated, re-encoded, re-headed or forged,
// each with the outcome(s) it must get. Shared by the opener suite and the through-the-proxy suite.

import { type KeyholePrivateJwk, type KeyholePublicJwk, toPublicJwk } from '@keyhole/core'
import { base64url } from 'jose'
import {
  craftJws,
  craftSigned,
  keyholeHeader,
  seal,
  validClaims,
} from '../../../packages/core/test/kit/index.js'
import { credential, secret } from './secrets.js'

/** A signed token sealed by hand (the header always written as text), `edit` applied to keyhole's header. */
const craft = (
  pub: KeyholePublicJwk,
  claims: Record<string, unknown> | string,
  edit: (h: Record<string, unknown>, epk: Record<string, string>) => Record<string, unknown> | string = (h) =>
    h,
  hosts?: readonly string[],
) => craftSigned(pub, { claims, header: edit, ...(hosts ? { hosts } : {}) })

/** An attacked token and what it must get: a KeyholeError code, or `ok` where that is by design. */
export interface Case {
  label: string
  token: string
  expect: readonly string[]
  /** For `ok`-capable byte edits: the token they must be equivalent to. */
  sameAs?: string
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const INVALID = ['invalid_token'] as const

function decodedSegments(token: string): string[] {
  return token.split('.').map((s, i) => (i === 0 ? s : Buffer.from(s, 'base64url').toString('hex')))
}

/** True when `mutated` decodes to exactly the bytes of `original` (non-canonical base64 tails). */
function sameBytes(mutated: string, original: string): boolean {
  if (!/^[A-Za-z0-9_.-]+$/.test(mutated)) return false
  const a = decodedSegments(mutated)
  const b = decodedSegments(original)
  return a.length === b.length && a.every((s, i) => s === b[i])
}

/**
 * Single-character edits of `token` at every position (or every `stride`-th): substitution with
 * two different characters, deletion, and insertion. A substitution in the last character of a
 * binary segment may only touch unused bits; then the token is the same bytes and may open.
 */
export function byteMutations(token: string, stride = 1): Case[] {
  const cases: Case[] = []
  const segmentOf = (i: number) => token.slice(0, i).split('.').length - 1
  for (let i = 0; i < token.length; i += stride) {
    const ch = token[i]!
    const where = `segment ${segmentOf(i)} char ${i}`
    if (ch !== '.') {
      for (const xor of [1, 32]) {
        const next = ALPHABET[(ALPHABET.indexOf(ch) ^ xor) & 63]!
        const mutated = token.slice(0, i) + next + token.slice(i + 1)
        const same = sameBytes(mutated, token)
        cases.push({
          label: `substitute ${where} (${ch}→${next})`,
          token: mutated,
          expect: same ? ['invalid_token', 'ok'] : INVALID,
          ...(same ? { sameAs: token } : {}),
        })
      }
    }
    cases.push({ label: `delete ${where}`, token: token.slice(0, i) + token.slice(i + 1), expect: INVALID })
    cases.push({
      label: `insert before ${where}`,
      token: `${token.slice(0, i)}A${token.slice(i)}`,
      expect: INVALID,
    })
  }
  return cases
}

/** Re-encodings: other base64 alphabets, padding, case, separators, wrappers. */
export function encodingVariants(token: string): Case[] {
  const parts = token.split('.')
  const pad = (s: string) => s + '='.repeat((4 - (s.length % 4)) % 4)
  const standard = token.replaceAll('-', '+').replaceAll('_', '/')
  const variants: [string, string][] = [
    ['standard base64 alphabet', standard === token ? `${token}+` : standard],
    ['padded segments', parts.map(pad).join('.')],
    ['padding on the tag only', `${token}==`],
    ['upper-cased', token.toUpperCase()],
    ['lower-cased', token.toLowerCase()],
    ['percent-encoded dots', parts.join('%2E')],
    ['trailing dot', `${token}.`],
    ['leading dot', `.${token}`],
    ['doubled dot', token.replace('.', '..')],
    ['six segments', `${token}.${parts[4]}`],
    ['four segments', parts.slice(0, 4).join('.')],
    ['segments reversed', [...parts].reverse().join('.')],
    ['header and tag swapped', [parts[4], parts[1], parts[2], parts[3], parts[0]].join('.')],
    ['quoted', `"${token}"`],
    ['Bearer-prefixed inside the token header', `Bearer${token}`],
    ['token twice, concatenated', token + token],
    [
      'JSON serialization',
      JSON.stringify({
        protected: parts[0],
        encrypted_key: parts[1],
        iv: parts[2],
        ciphertext: parts[3],
        tag: parts[4],
      }),
    ],
    ['base64 of the whole token', Buffer.from(token).toString('base64url')],
    ['empty segments', '....'],
    ['five dots', '.....'],
    ['single character segments', 'a.b.c.d.e'],
    ['fullwidth letter inside', token.replace(/[A-Z]/, 'Ｚ')],
    ['latin-1 letter inside', token.replace(/[a-z]/, 'é')],
    ['zero-width space inside', token.replace('.', '.\u200b')],
    ['NUL inside', token.replace('.', '.\u0000')],
    ['newline inside', token.replace('.', '.\n')],
    ['space inside', token.replace('.', '. ')],
    ['tab inside', token.replace('.', '.\t')],
    ['comma inside', token.replace('.', ',')],
    ['empty', ''],
    ['one megabyte', token + 'A'.repeat(1 << 20)],
    [
      'just over 8 KiB',
      `${parts[0]}.${parts[1]}.${parts[2]}.${parts[3]}${'A'.repeat(8200 - token.length)}.${parts[4]}`,
    ],
  ]
  return variants.map(([label, value]) => ({
    label,
    token: value,
    expect: label === 'empty' ? ['invalid_token', 'missing_token'] : INVALID,
  }))
}

function nested(depth: number, leaf = '0'): string {
  return '['.repeat(depth) + leaf + ']'.repeat(depth)
}

/** Valid claims as text, with `replace` applied to the JSON text (for duplicate members). */
function claimsText(hosts: readonly string[], value: string, tweak: (json: string) => string): string {
  return tweak(JSON.stringify(validClaims({ hosts: hosts, value: value })))
}

/**
 * Properly encrypted tokens with a bad header or bad claims, tokens re-encrypted under other
 * keys, swapped segments, huge and deeply nested JSON, duplicate members, `__proto__` and
 * `constructor`. `hosts` is what their grants name (the recording upstream, through a proxy).
 */
export async function craftedCases(
  key: KeyholePrivateJwk,
  foreign: KeyholePrivateJwk,
  hosts: readonly string[],
): Promise<Case[]> {
  const pub = toPublicJwk(key)
  const foreignPub = toPublicJwk(foreign)
  const value = credential('crafted')
  const claims = () => validClaims({ hosts: hosts, value: value })
  const cases: Case[] = []
  const add = async (label: string, expect: readonly string[], make: () => Promise<string>) => {
    cases.push({ label, token: secret(await make()), expect })
  }
  const headerEdit = (
    label: string,
    edit: (h: Record<string, unknown>, epk: Record<string, string>) => Record<string, unknown> | string,
  ) => add(`header: ${label}`, INVALID, () => craft(pub, claims(), edit))
  const drop = (h: Record<string, unknown>, ...names: string[]) => {
    const copy = { ...h }
    for (const name of names) delete copy[name]
    return copy
  }

  // Controls: the crafting itself produces tokens that open.
  await add('control: hand-sealed with keyhole’s header', ['ok'], () => craft(pub, claims()))

  for (const alg of [
    'dir',
    'none',
    'ECDH-ES',
    'ECDH-ES+A128KW',
    'ECDH-ES+A192KW',
    'RSA-OAEP-256',
    'RSA1_5',
    'A256KW',
    'A256GCMKW',
    'PBES2-HS256+A128KW',
    'ecdh-es+a256kw',
    '',
    5,
    null,
  ]) {
    await headerEdit(`alg ${JSON.stringify(alg)}`, (h) => ({ ...h, alg }))
  }
  await headerEdit('alg missing', (h) => drop(h, 'alg'))
  for (const enc of ['A128GCM', 'A192GCM', 'A256CBC-HS512', 'A128CBC-HS256', 'a256gcm', '', null]) {
    await headerEdit(`enc ${JSON.stringify(enc)}`, (h) => ({ ...h, enc }))
  }
  await headerEdit('enc missing', (h) => drop(h, 'enc'))
  for (const kid of [
    'unknown',
    foreign.kid,
    '',
    7,
    null,
    ['x'],
    { kid: key.kid },
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    `${key.kid} `,
    key.kid.toUpperCase(),
  ]) {
    await headerEdit(`kid ${JSON.stringify(kid)}`, (h) => ({ ...h, kid }))
  }
  await headerEdit('kid missing', (h) => drop(h, 'kid'))
  await headerEdit('zip DEF', (h) => ({ ...h, zip: 'DEF' }))
  await headerEdit('crit ["exp"]', (h) => ({ ...h, crit: ['exp'], exp: 1 }))
  await headerEdit('crit []', (h) => ({ ...h, crit: [] }))
  await headerEdit('crit ["b64"]', (h) => ({ ...h, crit: ['b64'], b64: false }))
  for (const typ of ['JWT', 'keyhole+JWT', 'KEYHOLE+JWT', 'application/keyhole+jwt', 'JOSE', '', null]) {
    await headerEdit(`typ ${JSON.stringify(typ)}`, (h) => ({ ...h, typ }))
  }
  await headerEdit('typ missing', (h) => drop(h, 'typ'))
  for (const member of ['jku', 'jwk', 'x5u', 'x5c', 'cty', 'apu', 'apv', 'p2s', 'p2c', 'iv', 'tag']) {
    await headerEdit(`extra member ${member}`, (h) => ({ ...h, [member]: member === 'p2c' ? 1000 : 'AAAA' }))
  }
  await headerEdit('__proto__ member', (h) => `${JSON.stringify(h).slice(0, -1)},"__proto__":{"alg":"dir"}}`)
  await headerEdit('constructor member', (h) => ({ ...h, constructor: { prototype: { polluted: true } } }))
  await headerEdit('hosts hint differs from the claims', (h) => ({ ...h, hosts: ['evil.example'] }))
  await headerEdit('hosts hint missing', (h) => drop(h, 'hosts'))
  await headerEdit('hosts hint a string', (h) => ({ ...h, hosts: hosts[0] }))
  await headerEdit('hosts hint with one more host', (h) => ({ ...h, hosts: [...hosts, 'evil.example'] }))
  await headerEdit('hosts hint of 150 hosts (a huge header)', (h) => ({
    ...h,
    hosts: Array.from({ length: 150 }, (_, i) => `h${i}.example.com`),
  }))
  await headerEdit('header over 8 KiB', (h) => ({
    ...h,
    hosts: Array.from({ length: 400 }, (_, i) => `h${i}.example.com`),
  }))
  await headerEdit(
    'deeply nested member (depth 2500)',
    (h) => `${JSON.stringify(h).slice(0, -1)},"x":${nested(2500)}}`,
  )
  await headerEdit('deeply nested hosts (depth 2500)', (h) =>
    JSON.stringify({ ...h, hosts: 'X' }).replace('"X"', nested(2500, '"a"')),
  )
  await headerEdit('header is an array', (h) => JSON.stringify([h]))
  await headerEdit('header is a string', () => JSON.stringify('ECDH-ES+A256KW'))
  await headerEdit('header is null', () => 'null')
  // A leading BOM is dropped by every UTF-8 decoder on the way (the opener's, jose's, the node
  // decryptor's): the header that is checked is the header that is used, so it may open.
  cases.push({
    label: 'header: with a BOM (decoded alike everywhere)',
    token: secret(await craft(pub, claims(), (h) => `\ufeff${JSON.stringify(h)}`)),
    expect: ['invalid_token', 'ok'],
  })
  await headerEdit('duplicate alg, the last one dir', (h) =>
    JSON.stringify(h).replace('"alg":"ECDH-ES+A256KW"', '"alg":"ECDH-ES+A256KW","alg":"dir"'),
  )
  await headerEdit('duplicate kid, the last one foreign', (h) =>
    JSON.stringify(h).replace(`"kid":"${key.kid}"`, `"kid":"${key.kid}","kid":"${foreign.kid}"`),
  )
  // By design these open: JSON.parse keeps the last member, and jose (and the node decryptor)
  // read the same parse, so what was checked is what was used.
  cases.push({
    label: 'header: duplicate alg, the first one dir (last wins, consistently)',
    token: secret(
      await craft(pub, claims(), (h) =>
        JSON.stringify(h).replace('"alg":"ECDH-ES+A256KW"', '"alg":"dir","alg":"ECDH-ES+A256KW"'),
      ),
    ),
    expect: ['ok'],
  })

  // epk: swapped, off-curve, wrong curve, private members.
  const other = await seal(
    pub,
    (epk) => JSON.stringify({ ...keyholeHeader(pub, hosts), epk }),
    JSON.stringify(claims()),
  )
  await headerEdit('epk swapped for another token’s (a valid point)', (h) => ({ ...h, epk: other.epk }))
  const random43 = () => base64url.encode(crypto.getRandomValues(new Uint8Array(32)))
  if (key.crv === 'P-256') {
    await headerEdit('epk off the curve (random x, y)', (h) => ({
      ...h,
      epk: { kty: 'EC', crv: 'P-256', x: random43(), y: random43() },
    }))
    await headerEdit('epk off the curve (y = x)', (h, epk) => ({ ...h, epk: { ...epk, y: epk.x } }))
    await headerEdit('epk point at zero', (h) => ({
      ...h,
      epk: {
        kty: 'EC',
        crv: 'P-256',
        x: base64url.encode(new Uint8Array(32)),
        y: base64url.encode(new Uint8Array(32)),
      },
    }))
    await headerEdit('epk an X25519 key', (h) => ({
      ...h,
      epk: { kty: 'OKP', crv: 'X25519', x: random43() },
    }))
    await headerEdit('epk on P-384', (h, epk) => ({ ...h, epk: { ...epk, crv: 'P-384' } }))
  } else {
    await headerEdit('epk of low order (all zero)', (h) => ({
      ...h,
      epk: { kty: 'OKP', crv: 'X25519', x: base64url.encode(new Uint8Array(32)) },
    }))
    await headerEdit('epk of low order (one)', (h) => {
      const one = new Uint8Array(32)
      one[0] = 1
      return { ...h, epk: { kty: 'OKP', crv: 'X25519', x: base64url.encode(one) } }
    })
    await headerEdit('epk a P-256 key', (h) => ({
      ...h,
      epk: { kty: 'EC', crv: 'P-256', x: random43(), y: random43() },
    }))
    await headerEdit('epk an Ed25519 key', (h, epk) => ({ ...h, epk: { ...epk, crv: 'Ed25519' } }))
  }
  await headerEdit('epk with a private d', (h, epk) => ({ ...h, epk: { ...epk, d: random43() } }))
  await headerEdit('epk with kty oct', (h, epk) => ({ ...h, epk: { ...epk, kty: 'oct' } }))
  await headerEdit('epk missing', (h) => drop(h, 'epk'))
  await headerEdit('epk a string', (h) => ({ ...h, epk: 'AAAA' }))
  await headerEdit('epk coordinates padded', (h, epk) => ({ ...h, epk: { ...epk, x: `${epk.x}=` } }))

  // A captured payload re-encrypted under another key, and segments swapped between tokens.
  const captured = await craftJws(claims())
  await add('payload re-encrypted to a foreign key', INVALID, async () => {
    const { token } = await seal(
      foreignPub,
      (epk) => JSON.stringify({ ...keyholeHeader(foreignPub, hosts), epk }),
      captured,
    )
    return token
  })
  await add('payload re-encrypted to a foreign key, labelled with our kid', INVALID, async () => {
    const { token } = await seal(
      foreignPub,
      (epk) => JSON.stringify({ ...keyholeHeader(pub, hosts), epk }),
      captured,
    )
    return token
  })
  const a = await craft(pub, claims())
  const b = await craft(pub, claims())
  const partsA = a.split('.')
  const partsB = b.split('.')
  for (const [index, name] of ['header', 'encrypted key', 'iv', 'ciphertext', 'tag'].entries()) {
    const swapped = [...partsA]
    swapped[index] = partsB[index]!
    cases.push({
      label: `${name} swapped with another token’s`,
      token: secret(swapped.join('.')),
      expect: INVALID,
    })
  }
  cases.push({
    label: 'ciphertext of one token, everything else of another',
    token: secret([partsB[0], partsB[1], partsB[2], partsA[3], partsB[4]].join('.')),
    expect: INVALID,
  })

  // Claims: JSON shapes, nesting, duplicates, prototype names.
  // The header's hosts hint always equals the grant's hosts here, so each case fails for its own reason.
  const claimsCase = (label: string, expect: readonly string[], text: string | Record<string, unknown>) =>
    add(`claims: ${label}`, expect, () => craft(pub, text, undefined, hosts))
  await claimsCase('not JSON', INVALID, 'not json at all')
  await claimsCase('JSON null', INVALID, 'null')
  await claimsCase('JSON array', INVALID, JSON.stringify([claims()]))
  await claimsCase('invalid UTF-8', INVALID, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1'))
  await claimsCase('empty', INVALID, '')
  await claimsCase(
    'deeply nested inject (depth 3000)',
    INVALID,
    JSON.stringify({ ...claims(), inject: 'X' }).replace('"X"', nested(3000, '{}')),
  )
  await claimsCase(
    'deeply nested paths (depth 3000)',
    INVALID,
    JSON.stringify({ ...claims(), paths: 'X' }).replace('"X"', nested(3000, '"/a"')),
  )
  await claimsCase('sub as an object', INVALID, { ...claims(), sub: { toString: 'x' } })
  await claimsCase('jti missing', INVALID, drop(claims(), 'jti'))
  await claimsCase('jti an object', INVALID, { ...claims(), jti: { length: 3 } })
  await claimsCase('exp a string', INVALID, { ...claims(), exp: String(Date.now()) })
  await claimsCase('exp before iat', INVALID, { ...claims(), exp: 1 })
  await claimsCase('lifetime of ten years', INVALID, {
    ...claims(),
    exp: Math.floor(Date.now() / 1000) + 10 * 365 * 86400,
  })
  await claimsCase('inject empty', INVALID, { ...claims(), inject: [] })
  await claimsCase('inject a Host header', INVALID, {
    ...claims(),
    inject: [{ in: 'header', name: 'Host', value: 'evil.example' }],
  })
  await claimsCase('inject a header value with CRLF', INVALID, {
    ...claims(),
    inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${value}\r\nX-Evil: 1` }],
  })
  await claimsCase('inject an X-Keyhole-Token header', INVALID, {
    ...claims(),
    inject: [{ in: 'header', name: 'X-Keyhole-Token', value }],
  })
  await claimsCase('inject in "__proto__"', INVALID, {
    ...claims(),
    inject: [{ in: '__proto__', name: 'x', value }],
  })
  await claimsCase(
    'inject value only through __proto__',
    INVALID,
    JSON.stringify(claims()).replace(
      /\{"in":"header","name":"Authorization","value":"[^"]*"\}/,
      `{"in":"header","name":"Authorization","__proto__":{"value":"${value}"}}`,
    ),
  )
  await claimsCase(
    'hosts only through __proto__',
    INVALID,
    JSON.stringify(drop(claims(), 'hosts')).replace('{', `{"__proto__":{"hosts":${JSON.stringify(hosts)}},`),
  )
  await claimsCase('hosts only through constructor.prototype', INVALID, {
    ...drop(claims(), 'hosts'),
    constructor: { prototype: { hosts } },
  })
  await claimsCase('methods a lower-case list', INVALID, { ...claims(), methods: ['get'] })
  await claimsCase('paths with a backslash pattern', INVALID, { ...claims(), paths: ['/a\\b'] })
  await add('claims: hosts with a userinfo pattern (and the same hint)', INVALID, () =>
    craft(pub, { ...claims(), hosts: [`user@${hosts[0]}`] }),
  )
  // Extra claims named after prototype members are dropped; the token opens, nothing is polluted.
  await claimsCase(
    'an own "__proto__" claim (dropped, nothing polluted)',
    ['ok'],
    JSON.stringify(claims()).replace('{', '{"__proto__":{"polluted":"yes","hosts":["evil.example"]},'),
  )
  await claimsCase('a "constructor" claim (dropped)', ['ok'], {
    ...claims(),
    constructor: { prototype: { polluted: 'yes' } },
  })
  const now = Math.floor(Date.now() / 1000)
  await claimsCase(
    'duplicate exp, the last one long past',
    ['token_expired'],
    JSON.stringify({ ...claims(), iat: now - 9000, exp: now + 3600 }).replace(
      /"exp":(\d+)/,
      (_m, e) => `"exp":${e},"exp":${now - 5400}`,
    ),
  )
  const hostsJson = JSON.stringify(hosts)
  await claimsCase(
    'duplicate hosts, the last one not the hint',
    INVALID,
    claimsText(hosts, value, (j) =>
      j.replace(`"hosts":${hostsJson}`, `"hosts":${hostsJson},"hosts":["evil.example"]`),
    ),
  )
  // Last member wins, and it is what the hint must equal and what is enforced: this one opens.
  await claimsCase(
    'duplicate hosts, the first one evil (last wins and equals the hint)',
    ['ok'],
    claimsText(hosts, value, (j) =>
      j.replace(`"hosts":${hostsJson}`, `"hosts":["evil.example"],"hosts":${hostsJson}`),
    ),
  )
  return cases
}

/** A shape-correct token of random segments (passes the size checks, reaches the JSON parser). */
export function shapedGarbage(header: string, ciphertextChars: number): string {
  const seg = (n: number) => base64url.encode(crypto.getRandomValues(new Uint8Array(n)))
  return [header, seg(40), seg(12), seg(Math.max(1, Math.floor((ciphertextChars * 3) / 4))), seg(16)].join(
    '.',
  )
}
