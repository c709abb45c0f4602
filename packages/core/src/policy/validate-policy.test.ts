import { describe, expect, it } from 'vitest'
import { KeyholeError } from '../errors.js'
import { assertValidPolicy } from './validate-policy.js'

const SECRET = 'sk_live_SECRET_VALUE_123'
const ok = {
  hosts: ['api.example.com'],
  inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }],
}

function rejects(policy: unknown): KeyholeError {
  try {
    assertValidPolicy(policy)
  } catch (err) {
    expect(err).toBeInstanceOf(KeyholeError)
    const error = err as KeyholeError
    expect(error.code).toBe('invalid_grant')
    expect(error.message).not.toContain('SECRET')
    return error
  }
  throw new Error(`accepted: ${JSON.stringify(policy)}`)
}

describe('assertValidPolicy', () => {
  it('accepts a minimal policy and full ones', () => {
    expect(() => assertValidPolicy(ok)).not.toThrow()
    expect(() =>
      assertValidPolicy({
        hosts: ['api.example.com', '*.example.org:8443', 'http://127.0.0.1:8080', '[::1]', 'bücher.de'],
        paths: ['/v1/messages', '/repos/acme/*', '/repos/acme/**', '/'],
        methods: ['GET', 'POST', 'PATCH'],
        inject: [
          { in: 'header', name: 'X-Api-Key', value: SECRET },
          { in: 'query', name: 'api_key', value: 'a b&c=d' },
          { in: 'cookie', name: 'session', value: SECRET },
        ],
      }),
    ).not.toThrow()
  })

  it('refuses structural problems', () => {
    rejects(null)
    rejects([])
    rejects({ ...ok, hosts: [] })
    rejects({ ...ok, hosts: 'api.example.com' })
    rejects({ ...ok, hosts: [1] })
    rejects({ ...ok, inject: [] })
    rejects({ hosts: ok.hosts })
    rejects({ ...ok, paths: [] })
    rejects({ ...ok, paths: null })
    rejects({ ...ok, methods: [] })
    rejects({ ...ok, inject: [null] })
    rejects({ ...ok, inject: [{ in: 'body', name: 'x', value: SECRET }] })
    rejects({ ...ok, inject: [{ in: 'header', name: '', value: SECRET }] })
    rejects({ ...ok, inject: [{ in: 'header', name: 'X-Key', value: '' }] })
    rejects({ ...ok, inject: [{ in: 'header', name: 'X-Key', value: 42 }] })
  })

  it('refuses bad host and path patterns', () => {
    for (const host of [
      '*',
      '*.com',
      'example.*',
      'a.*.example.com',
      '*example.com',
      'ftp://x.com',
      'x.com/path',
      'u@x.com',
      'x.com:0',
      'x.com:65536',
      'x.com:ab',
      'a..b.com',
      '127.1',
      '127.0.0.1.',
      'http://10.0.0.5.:8080',
      '*.1.2.3.4',
      '*.[::1]',
      'x.com:',
      'ex%61mple.com',
      '',
    ]) {
      rejects({ ...ok, hosts: [host] })
    }
    for (const path of [
      'v1',
      '/a/**/b',
      '/a*',
      '/a/../b',
      '/a/%2e%2e/b',
      '/a/%2F',
      '/a//b',
      '/a?x',
      '/a#x',
      '/a\\b',
      '/a%zz',
      '/café',
      '/a b',
    ]) {
      rejects({ ...ok, paths: [path] })
    }
  })

  it('refuses bad methods', () => {
    for (const method of ['get', 'CONNECT', 'TRACE', 'TRACK', 'GE T', ''])
      rejects({ ...ok, methods: [method] })
  })

  it('refuses forbidden header names', () => {
    for (const name of [
      'Host',
      'content-length',
      'Transfer-Encoding',
      'Connection',
      'Keep-Alive',
      'Proxy-Connection',
      'TE',
      'Trailer',
      'Upgrade',
      'Proxy-Authorization',
      'Forwarded',
      'X-Forwarded-For',
      'x-forwarded-host',
      'X-Keyhole-Token',
      'Cookie',
      'Expect',
      'Bad Name',
      'Bad:Name',
    ]) {
      rejects({ ...ok, inject: [{ in: 'header', name, value: SECRET }] })
    }
  })

  it('refuses CR, LF and NUL anywhere, without echoing the value', () => {
    for (const bad of ['\r', '\n', '\0']) {
      const value = `${SECRET}${bad}X-Evil: 1`
      rejects({ ...ok, inject: [{ in: 'header', name: 'X-Key', value }] })
      rejects({ ...ok, inject: [{ in: 'query', name: 'key', value }] })
      rejects({ ...ok, inject: [{ in: 'cookie', name: 'key', value }] })
      rejects({ ...ok, inject: [{ in: 'query', name: `k${bad}`, value: SECRET }] })
      rejects({ ...ok, hosts: [`api.example.com${bad}`] })
      rejects({ ...ok, paths: [`/a${bad}`] })
      rejects({ ...ok, methods: [`GET${bad}`] })
    }
  })

  it('checks header values, cookie values and duplicates', () => {
    rejects({ ...ok, inject: [{ in: 'header', name: 'X-Key', value: ` ${SECRET}` }] })
    rejects({ ...ok, inject: [{ in: 'header', name: 'X-Key', value: `${SECRET}\t` }] })
    rejects({ ...ok, inject: [{ in: 'header', name: 'X-Key', value: `${SECRET}\u0100` }] })
    rejects({ ...ok, inject: [{ in: 'cookie', name: 'k', value: `${SECRET};other=1` }] })
    rejects({ ...ok, inject: [{ in: 'cookie', name: 'k v', value: SECRET }] })
    rejects({ ...ok, inject: [{ in: 'query', name: 'k', value: `${SECRET}\u0001` }] })
    rejects({ ...ok, inject: [{ in: 'query', name: 'k', value: `${SECRET}\ud800` }] })
    rejects({
      ...ok,
      inject: [
        { in: 'header', name: 'X-Key', value: SECRET },
        { in: 'header', name: 'x-key', value: SECRET },
      ],
    })
    expect(() =>
      assertValidPolicy({
        ...ok,
        inject: [
          { in: 'header', name: 'X-Key', value: 'a\tb c' },
          { in: 'cookie', name: 'k', value: '"quoted"' },
          { in: 'query', name: 'k', value: 'x' },
          { in: 'query', name: 'K', value: 'y' },
        ],
      }),
    ).not.toThrow()
  })
})

describe('assertValidPolicy messages say where, never what', () => {
  it('reports a bad host or path pattern by position, with the reason but not the pattern', () => {
    const host = rejects({ ...ok, hosts: ['api.example.com', 'x.com', `${SECRET}.example.com/v1`] })
    expect(host.message).toBe(
      'hosts[2] is not a valid host pattern: a host pattern is a host name with an optional port: no path, query, userinfo or escapes',
    )
    const path = rejects({ ...ok, paths: ['/ok', `/v1/${SECRET}/../x`] })
    expect(path.message).toBe('paths[1] is not a valid path pattern: dot-segments (. and ..) are not allowed')
    expect(rejects({ ...ok, hosts: [''] }).message).toBe('hosts[0] is not a valid host pattern: empty')
  })

  it('never repeats an injected name, which may be a secret in the wrong field', () => {
    const name = `X-Forwarded-${SECRET}`
    for (const inject of [
      [{ in: 'header', name, value: 'v' }],
      [{ in: 'header', name: `X-${SECRET}`, value: ' v' }],
      [{ in: 'cookie', name: SECRET, value: 'a;b' }],
      [
        { in: 'header', name: `X-${SECRET}`, value: 'a' },
        { in: 'header', name: `x-${SECRET}`, value: 'b' },
      ],
    ]) {
      const error = rejects({ ...ok, inject })
      expect(error.message).toMatch(/^inject\[\d\]/)
    }
    expect(
      rejects({
        ...ok,
        inject: [
          { in: 'query', name: 'k', value: 'a' },
          { in: 'query', name: 'k', value: 'b' },
        ],
      }).message,
    ).toBe('inject[1] injects the same query as inject[0]')
  })
})
