import type { ProxyEvent } from '@keyhole/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { field, formatEvent } from './log-line.js'

const timings = { token: 0.1, open: 0.5, revocation: 0.1, policy: 0.1, proof: 0, upstream: 10, total: 12.34 }

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
})

describe('field', () => {
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
