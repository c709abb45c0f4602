import { describe, expect, it } from 'vitest'
import { KeyholeError } from '../errors.js'
import { authorize } from './authorize.js'
import { parseTarget } from './target.js'

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(KeyholeError)
    return (err as KeyholeError).code
  }
  return 'ok'
}

describe('parseTarget', () => {
  it('normalizes hosts and applies default ports', () => {
    expect(parseTarget('https://API.Example.COM./a%2Fb?x=1#frag')).toEqual({
      scheme: 'https',
      host: 'api.example.com',
      port: 443,
      path: '/a%2Fb',
      search: '?x=1',
      href: 'https://api.example.com/a%2Fb?x=1',
    })
    expect(parseTarget('http://[::1]:8080').href).toBe('http://[::1]:8080/')
    expect(parseTarget(new URL('https://bücher.de/x')).host).toBe('xn--bcher-kva.de')
  })

  it('refuses what is not a plain http(s) URL', () => {
    for (const url of [
      'ftp://x.com/',
      'https://u:p@x.com/',
      'https://@x.com/',
      'https:x.com',
      '/relative',
      'https:///x',
      'https://x.com:0/',
      'https://ex%61mple.com/',
      'https://x.com\\@y.com/',
      'https://x .com/',
    ]) {
      expect(
        code(() => parseTarget(url)),
        url,
      ).toBe('bad_target')
    }
  })
})

describe('authorize', () => {
  const policy = {
    hosts: ['api.example.com', '*.svc.example.org:8443'],
    paths: ['/v1/*', '/repos/acme/**'],
    methods: ['GET'],
  }

  it('allows what the policy names', () => {
    expect(authorize(policy, { method: 'GET', url: 'https://api.example.com/v1/x?q' }).path).toBe('/v1/x')
    expect(
      code(() =>
        authorize(policy, { method: 'get', url: 'https://a.b.svc.example.org:8443/repos/acme/x/y' }),
      ),
    ).toBe('ok')
  })

  it('refuses the rest with the right code', () => {
    expect(code(() => authorize(policy, { method: 'GET', url: 'https://evil.com/v1/x' }))).toBe(
      'host_not_allowed',
    )
    expect(code(() => authorize(policy, { method: 'GET', url: 'http://api.example.com/v1/x' }))).toBe(
      'host_not_allowed',
    )
    expect(code(() => authorize(policy, { method: 'GET', url: 'https://api.example.com/v2/x' }))).toBe(
      'path_not_allowed',
    )
    expect(code(() => authorize(policy, { method: 'GET', url: 'https://api.example.com/v1/../admin' }))).toBe(
      'path_not_allowed',
    )
    expect(code(() => authorize(policy, { method: 'POST', url: 'https://api.example.com/v1/x' }))).toBe(
      'method_not_allowed',
    )
    expect(code(() => authorize(policy, { method: 'GET', url: 'gopher://api.example.com/' }))).toBe(
      'bad_target',
    )
  })
})

describe('authorize: _method query parameters', () => {
  const postOnly = { hosts: ['api.example.com'], methods: ['POST'] }
  const at = (query: string) => ({ method: 'POST', url: `https://api.example.com/x${query}` })

  it('counts each _method parameter as the method it names, in any case', () => {
    for (const query of [
      '?_method=DELETE',
      '?_method=delete',
      '?_method=%20Delete%20',
      '?a=1&_method=PUT',
      '?_method=POST&_method=DELETE',
      '?%5Fmethod=DELETE',
      '?_%6Dethod=patch',
    ]) {
      expect(
        code(() => authorize(postOnly, at(query))),
        query,
      ).toBe('method_not_allowed')
    }
  })

  it('allows overrides that name an allowed method, and other parameters', () => {
    for (const query of [
      '?_method=post',
      '?_method=POST&_method=Post',
      '?_method=',
      '?method=DELETE',
      '?x=%20',
    ]) {
      expect(
        code(() => authorize(postOnly, at(query))),
        query,
      ).toBe('ok')
    }
  })

  it('ignores _method when the grant does not restrict methods', () => {
    expect(code(() => authorize({ hosts: ['api.example.com'] }, at('?_method=DELETE')))).toBe('ok')
  })

  it('applies to an attenuation layer that restricts methods', () => {
    const layered = { hosts: ['api.example.com'], layers: [{ methods: ['POST'] }] }
    expect(code(() => authorize(layered, at('?_method=DELETE')))).toBe('method_not_allowed')
    expect(code(() => authorize(layered, at('?_method=post')))).toBe('ok')
  })
})
