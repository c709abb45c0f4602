import { describe, expect, it } from 'vitest'
import { isKeyholeError } from '../../errors.js'
import { chooseToken, readProxyTokens } from './proxy-tokens.js'
import {
  absoluteFormTarget,
  absoluteFormUpgradeTarget,
  connectTarget,
  hostMatches,
  isAbsoluteForm,
  isAbsoluteFormUpgrade,
  tunnelPath,
} from './targets.js'

// A compact JWE-shaped value whose public header carries `hosts`; nothing here decrypts it.
const fakeToken = (hosts: unknown) =>
  `${Buffer.from(JSON.stringify({ alg: 'ECDH-ES+A256KW', hosts })).toString('base64url')}.k.iv.ct.tag`
const code = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    return isKeyholeError(error) ? error.code : 'other'
  }
  return 'none'
}

describe('absolute-form and tunnel targets', () => {
  it('maps absolute-form URLs to open-mode paths with path encoding and query untouched', () => {
    expect(absoluteFormTarget('http://API.example.com:8080/a%2Fb/../c?x=%20&y').enginePath).toBe(
      '/http/api.example.com:8080/a%2Fb/../c?x=%20&y',
    )
    expect(absoluteFormTarget('http://example.com').enginePath).toBe('/http/example.com/')
    expect(absoluteFormTarget('http://example.com:80/p#frag').enginePath).toBe('/http/example.com/p')
    expect(absoluteFormTarget('https://[::1]:8443/p').enginePath).toBe('/https/[::1]:8443/p')
    expect(code(() => absoluteFormTarget('http://user:pw@example.com/'))).toBe('bad_target')
    expect(isAbsoluteForm('/https/example.com/')).toBe(false)
    expect(isAbsoluteForm('HTTP://example.com/')).toBe(true)
  })

  it('reads ws:// and wss:// upgrade targets as http:// and https:// with the same default ports', () => {
    expect(absoluteFormUpgradeTarget('ws://Stream.example.com/v1?x=%20').enginePath).toBe(
      '/http/stream.example.com/v1?x=%20',
    )
    expect(absoluteFormUpgradeTarget('WSS://stream.example.com:443/v1').enginePath).toBe(
      '/https/stream.example.com/v1',
    )
    expect(absoluteFormUpgradeTarget('wss://stream.example.com:8443').enginePath).toBe(
      '/https/stream.example.com:8443/',
    )
    expect(absoluteFormUpgradeTarget('http://stream.example.com/v1').enginePath).toBe(
      '/http/stream.example.com/v1',
    )
    expect(code(() => absoluteFormUpgradeTarget('ws://user@stream.example.com/'))).toBe('bad_target')
    expect(isAbsoluteFormUpgrade('ws://a.test/')).toBe(true)
    expect(isAbsoluteFormUpgrade('/http/a.test/')).toBe(false)
    // Only upgrades take the WebSocket schemes: an ordinary request line must be http(s).
    expect(isAbsoluteForm('ws://a.test/')).toBe(false)
  })

  it('reads CONNECT authorities as https origins and keeps tunnel paths on them', () => {
    const origin = connectTarget('Example.COM:443')
    expect(origin).toMatchObject({ scheme: 'https', host: 'example.com', port: 443 })
    expect(tunnelPath(origin, '/https/evil.test/x?q')).toBe('/https/example.com/https/evil.test/x?q')
    expect(tunnelPath(connectTarget('example.com:8443'), '/p')).toBe('/https/example.com:8443/p')
    expect(tunnelPath(origin, 'https://example.com/abs')).toBe('/https/example.com/abs')
    expect(code(() => tunnelPath(origin, 'https://evil.test/abs'))).toBe('misdirected_request')
    expect(code(() => tunnelPath(origin, '*'))).toBe('bad_target')
    for (const bad of ['example.com', 'user@example.com:443', 'example.com:443/x', undefined]) {
      expect(code(() => connectTarget(bad))).toBe('bad_target')
    }
  })

  it('matches Host against the origin after normalization, and nothing else', () => {
    const origin = connectTarget('example.com:443')
    expect(hostMatches(origin, 'EXAMPLE.com')).toBe(true)
    expect(hostMatches(origin, 'example.com.:443')).toBe(true)
    expect(hostMatches(origin, 'example.com:8443')).toBe(false)
    expect(hostMatches(origin, 'evil.test')).toBe(false)
    expect(hostMatches(origin, 'example.com/x')).toBe(false)
    expect(hostMatches(origin, undefined)).toBe(false)
  })
})

describe('Proxy-Authorization tokens', () => {
  const a = fakeToken(['api.github.com'])
  const b = fakeToken(['http://127.0.0.1:8080', '*.example.com'])

  it('reads Bearer and Basic (any user, one or several comma-separated tokens as password)', () => {
    expect(readProxyTokens(`Bearer ${a}`)).toEqual([a])
    expect(readProxyTokens(`basic ${Buffer.from(`keyhole:${a}, ${b}`).toString('base64')}`)).toEqual([a, b])
    expect(readProxyTokens(`Basic ${Buffer.from(`:${a}`).toString('base64')}`)).toEqual([a])
    expect(code(() => readProxyTokens(undefined))).toBe('missing_token')
    expect(code(() => readProxyTokens(`Basic ${Buffer.from('keyhole:').toString('base64')}`))).toBe(
      'missing_token',
    )
    expect(code(() => readProxyTokens(`Basic ${Buffer.from('keyhole:hunter2').toString('base64')}`))).toBe(
      'invalid_token',
    )
    expect(code(() => readProxyTokens('Digest x'))).toBe('invalid_token')
    expect(code(() => readProxyTokens('Basic !!!'))).toBe('invalid_token')
  })

  it('chooses the first token whose hint covers scheme, host and port', () => {
    expect(chooseToken([a, b], { scheme: 'https', host: 'api.github.com', port: 443 })).toBe(a)
    expect(chooseToken([a, b], { scheme: 'https', host: 'x.example.com', port: 443 })).toBe(b)
    expect(chooseToken([a, b], { scheme: 'http', host: '127.0.0.1', port: 8080 })).toBe(b)
    expect(code(() => chooseToken([a, b], { scheme: 'https', host: '127.0.0.1', port: 8080 }))).toBe(
      'host_not_allowed',
    )
    expect(code(() => chooseToken([a], { scheme: 'http', host: 'api.github.com', port: 80 }))).toBe(
      'host_not_allowed',
    )
    expect(code(() => chooseToken([fakeToken('nope')], { scheme: 'https', host: 'a.b', port: 443 }))).toBe(
      'invalid_token',
    )
  })
})
