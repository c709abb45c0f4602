import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KeyholeError } from '../errors.js'
import { authorize } from './authorize.js'
import { normalizeHost } from './normalize-host.js'
import { normalizeTargetPath } from './path-pattern.js'
import { parseTarget } from './target.js'
import { assertValidPolicy } from './validate-policy.js'

// Characters that make URL parsers disagree, mixed with ordinary host characters.
const tricky = fc.constantFrom(
  ..."aAbz09-_.:@/\\?#%[]*!$&'()+,;=~ \t\r\n\0".split(''),
  '%2e',
  '%2f',
  '%40',
  'ü',
  'Ａ',
  '。',
  '\u200b',
  'example.com',
  'evil.com',
  '.example.com',
  'example.com.',
  'xn--',
  '0x7f',
  '[::1]',
  ':443',
  ':8443',
)
const trickyString = fc.array(tricky, { maxLength: 12 }).map((parts) => parts.join(''))
const maybe = (arb: fc.Arbitrary<string>) =>
  fc.oneof({ arbitrary: fc.constant(''), weight: 3 }, { arbitrary: arb, weight: 1 })
const schemes = fc.oneof(
  { arbitrary: fc.constant('https://'), weight: 6 },
  {
    arbitrary: fc.constantFrom('http://', 'HTTPS://', 'https:', 'https:/', 'https:///', '//', 'ftp://', ''),
    weight: 1,
  },
)
const label = fc.oneof(
  { arbitrary: fc.constantFrom('a', 'api', 'A', 'x-y', 'ü', 'xn--bcher-kva', '0', '0x7f', 'b_c'), weight: 4 },
  { arbitrary: trickyString, weight: 1 },
)
const trickyUrl = fc
  .tuple(
    schemes,
    maybe(trickyString.map((u) => `${u}@`)),
    fc.array(label, { maxLength: 3 }),
    fc.constantFrom('example.com', 'example.com.', 'EXAMPLE.com', 'example.co', 'example.com..', 'evil.com'),
    maybe(fc.constantFrom(':443', ':8443', ':8080', ':', ':0', ':65536', ':80')),
    maybe(trickyString),
    fc.constantFrom('', '/', '/x?y#z', '#@evil.com', '?@evil.com'),
  )
  .map(
    ([scheme, user, labels, base, port, junk, rest]) =>
      `${scheme}${user}${labels.map((l) => `${l}.`).join('')}${base}${port}${junk}${rest}`,
  )
const anyUrl = fc.oneof(
  trickyUrl,
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.string({ unit: 'binary', maxLength: 60 }),
)

function whatwgHost(url: string): string | undefined {
  try {
    const host = new URL(url).hostname
    return host.endsWith('.') ? host.slice(0, -1) : host
  } catch {
    return undefined
  }
}

describe('policy properties', () => {
  it('a wildcard pattern never matches a host outside its domain, nor the bare domain', () => {
    const policy = { hosts: ['*.example.com'] }
    let accepted = 0
    fc.assert(
      fc.property(anyUrl, (url) => {
        let target: ReturnType<typeof authorize>
        try {
          target = authorize(policy, { method: 'GET', url })
        } catch (err) {
          expect(err).toBeInstanceOf(KeyholeError)
          return
        }
        accepted++
        expect(target.host.endsWith('.example.com')).toBe(true)
        expect(target.host).not.toBe('example.com')
        expect(target.scheme).toBe('https')
        expect(target.port).toBe(443)
        // The WHATWG parser (what fetch uses) must agree on where the request goes.
        expect(whatwgHost(url)).toBe(target.host)
      }),
      { numRuns: 5000 },
    )
    // The generator must reach the interesting side too, or the property proves nothing.
    expect(accepted).toBeGreaterThan(100)
  })

  it('an exact pattern only matches that exact host, scheme and port', () => {
    const policy = { hosts: ['api.example.com', 'a.example.com', 'http://a.example.com:8080'] }
    let accepted = 0
    fc.assert(
      fc.property(anyUrl, (url) => {
        try {
          const target = authorize(policy, { method: 'GET', url })
          accepted++
          const key = `${target.scheme}://${target.host}:${target.port}`
          expect([
            'https://api.example.com:443',
            'https://a.example.com:443',
            'http://a.example.com:8080',
          ]).toContain(key)
          expect(whatwgHost(url)).toBe(target.host)
        } catch (err) {
          expect(err).toBeInstanceOf(KeyholeError)
        }
      }),
      { numRuns: 5000 },
    )
    expect(accepted).toBeGreaterThan(5)
  })

  it('parseTarget and authorize throw nothing but KeyholeError, whatever the input', () => {
    const policy = {
      hosts: ['*.example.com', '[::1]', '127.0.0.1'],
      paths: ['/a/**', '/b/*'],
      methods: ['GET'],
    }
    fc.assert(
      fc.property(fc.oneof(anyUrl, fc.anything()), fc.oneof(fc.string(), fc.anything()), (url, method) => {
        for (const fn of [
          () => parseTarget(url as string),
          () => authorize(policy, { method: method as string, url: url as string }),
        ]) {
          try {
            fn()
          } catch (err) {
            expect(err).toBeInstanceOf(KeyholeError)
          }
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('a restricted path never lets a dot-segment through, in any encoding', () => {
    const dot = fc.constantFrom('.', '..', '%2e', '%2E', '.%2e', '%2e.', '%2e%2E', '..;x', '.;', '%2e%2e%3b')
    const segment = fc.oneof(fc.constantFrom('a', 'b%20c', '~', '...', '.x'), dot)
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 5 }),
        dot,
        fc.array(segment, { maxLength: 5 }),
        (before, d, after) => {
          const path = `/${[...before, d, ...after].join('/')}`
          expect(normalizeTargetPath(path)).toBeUndefined()
        },
      ),
    )
  })

  it('the fast and the WHATWG host normalizations agree', () => {
    const ascii = fc
      .array(fc.constantFrom(...'abcxyz0129-_.'.split(''), 'xn--', '0x'), { minLength: 1, maxLength: 20 })
      .map((p) => p.join(''))
    fc.assert(
      fc.property(ascii, (host) => {
        // Upper case forces the WHATWG path; lower case may take the fast path.
        expect(normalizeHost(host.toUpperCase())).toBe(normalizeHost(host))
      }),
      { numRuns: 5000 },
    )
  })

  it('assertValidPolicy refuses CR, LF or NUL in any string of the policy', () => {
    const withBreak = fc
      .tuple(fc.string({ maxLength: 10 }), fc.constantFrom('\r', '\n', '\0'), fc.string({ maxLength: 10 }))
      .map(([a, b, c]) => `${a}${b}${c}`)
    const field = fc.constantFrom(
      'host',
      'path',
      'method',
      'header-name',
      'header-value',
      'query-name',
      'query-value',
      'cookie-name',
      'cookie-value',
    )
    fc.assert(
      fc.property(withBreak, field, (bad, where) => {
        const policy = {
          hosts: where === 'host' ? [bad] : ['api.example.com'],
          paths: where === 'path' ? [bad] : ['/v1/**'],
          methods: where === 'method' ? [bad] : ['GET'],
          inject: [
            {
              in: 'header',
              name: where === 'header-name' ? bad : 'Authorization',
              value: where === 'header-value' ? bad : 'Bearer x',
            },
            {
              in: 'query',
              name: where === 'query-name' ? bad : 'key',
              value: where === 'query-value' ? bad : 'v',
            },
            {
              in: 'cookie',
              name: where === 'cookie-name' ? bad : 'sid',
              value: where === 'cookie-value' ? bad : 'v',
            },
          ],
        }
        expect(() => assertValidPolicy(policy)).toThrow(KeyholeError)
        try {
          assertValidPolicy(policy)
        } catch (err) {
          expect((err as KeyholeError).code).toBe('invalid_grant')
        }
      }),
      { numRuns: 2000 },
    )
  })
})
