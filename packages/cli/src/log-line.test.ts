import type { ProxyEvent } from '@keyhole/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { field, formatEvent } from './log-line.js'

const timings = {
  token: 0.1,
  open: 0.5,
  revocation: 0.1,
  policy: 0.1,
  proof: 0,
  upstream: 10,
  total: 12.34,
  body: 0,
}

describe('formatEvent', () => {
  it('writes one line with the outcome, target, ids and total time', () => {
    const event: ProxyEvent = {
      outcome: 'ok',
      status: 200,
      method: 'GET',
      jti: 'abc-_1',
      sub: 'ci job 42',
      kid: 'k',
      scheme: 'https',
      host: 'api.github.com',
      port: 443,
      path: '/user',
      cacheHit: true,
      timings,
    }
    expect(formatEvent(event, new Date(0))).toBe(
      '1970-01-01T00:00:00.000Z 200 ok GET https://api.github.com:443/user jti=abc-_1 sub="ci job 42" cache=hit 12.3ms',
    )
  })

  it("shows the issuer-signed sub beside a layer's own label", () => {
    const base: ProxyEvent = { outcome: 'ok', status: 200, method: 'GET', jti: 'j', sub: 'bob', timings }
    expect(formatEvent({ ...base, signedSub: 'alice' }, new Date(0))).toContain('sub=bob signed-sub=alice ')
    expect(formatEvent({ ...base, signedSub: null }, new Date(0))).toContain('sub=bob signed-sub=- ')
    expect(formatEvent(base, new Date(0))).not.toContain('signed-sub')
  })

  it('says why a token was refused', () => {
    const refused: ProxyEvent = {
      outcome: 'invalid_token',
      status: 401,
      method: 'GET',
      reason: 'unknown_issuer',
      timings,
    }
    expect(formatEvent(refused, new Date(0))).toBe(
      '1970-01-01T00:00:00.000Z 401 invalid_token GET - reason=unknown_issuer 12.3ms',
    )
  })

  it('writes a dash for a request whose target was never read', () => {
    const line = formatEvent({ outcome: 'missing_token', status: 401, method: 'GET', timings }, new Date(0))
    expect(line).toBe('1970-01-01T00:00:00.000Z 401 missing_token GET - 12.3ms')
  })

  it('brackets IPv6 hosts', () => {
    const line = formatEvent(
      {
        outcome: 'ok',
        status: 200,
        method: 'GET',
        scheme: 'http',
        host: '::1',
        port: 8080,
        path: '/',
        timings,
      },
      new Date(0),
    )
    expect(line).toContain(' http://[::1]:8080/ ')
  })

  it('brackets an IPv6 host once when the event already has the brackets', () => {
    const line = formatEvent(
      {
        outcome: 'ok',
        status: 200,
        method: 'GET',
        scheme: 'http',
        host: '[::1]',
        port: 8080,
        path: '/',
        timings,
      },
      new Date(0),
    )
    expect(line).toContain(' http://[::1]:8080/ ')
    expect(line).not.toContain('[[')
  })

  it('escapes what came from the token or the request in every field', () => {
    const line = formatEvent(
      {
        outcome: 'ok',
        status: 200,
        method: 'GE\u202eT',
        jti: 'j\u0085x',
        sub: 'ci\u2028200 ok',
        scheme: 'https',
        host: 'api.github.com',
        port: 443,
        path: '/a\x7f\u2066b\u200f\u061c\x1b[31m',
        timings,
      },
      new Date(0),
    )
    expect(line).toBe(
      '1970-01-01T00:00:00.000Z 200 ok "GE\\u202eT" "https://api.github.com:443/a\\u007f\\u2066b\\u200f\\u061c\\u001b[31m" jti="j\\u0085x" sub="ci\\u2028200 ok" 12.3ms',
    )
  })
})

// Everything a log line must never hold raw: C0, DEL, C1 (U+0085 included), U+2028, U+2029 and
// the bidi controls.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/
const unsafeChar = fc.constantFrom(
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
  ...Array.from({ length: 0x21 }, (_, i) => String.fromCharCode(0x7f + i)),
  '\u061c',
  '\u200e',
  '\u200f',
  '\u2028',
  '\u2029',
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
)
const hostile = fc
  .array(fc.oneof(unsafeChar, fc.string({ maxLength: 3 }), fc.string({ unit: 'binary', maxLength: 3 })), {
    maxLength: 12,
  })
  .map((parts) => parts.join(''))

describe('field', () => {
  it('never lets a control, separator or bidi character through, and round-trips as JSON', () => {
    let escaped = 0
    fc.assert(
      fc.property(hostile, (value) => {
        const out = field(value)
        expect(out).not.toMatch(UNSAFE)
        if (UNSAFE.test(value)) {
          escaped++
          expect(JSON.parse(out)).toBe(value)
        }
      }),
      { seed: 7, numRuns: 2000 },
    )
    expect(escaped).toBeGreaterThan(500)
  })

  it('never lets one through a whole log line either', () => {
    fc.assert(
      fc.property(hostile, hostile, hostile, hostile, (method, jti, sub, path) => {
        const line = formatEvent(
          {
            outcome: 'ok',
            status: 200,
            method,
            jti,
            sub,
            scheme: 'https',
            host: 'a.test',
            port: 443,
            path,
            timings,
          },
          new Date(0),
        )
        expect(line).not.toMatch(UNSAFE)
      }),
      { seed: 7, numRuns: 500 },
    )
  })

  it('never lets a value break the line or split the field', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const out = field(value)
        expect(out).not.toMatch(/[\r\n\u2028\u2029]/)
        if (value === '' || /[\s"]/.test(value)) expect(JSON.parse(out)).toBe(value)
        expect(out).not.toMatch(/^$/)
        expect(out.includes(' ') ? out.startsWith('"') : true).toBe(true)
      }),
    )
  })
})
