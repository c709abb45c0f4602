import { describe, expect, it } from 'vitest'
import { KeyholeClientError } from './errors.js'
import { proxiedBaseUrl } from './proxied-url.js'

describe('proxiedBaseUrl', () => {
  it('maps a base URL below the proxy', () => {
    const proxy = 'http://127.0.0.1:8787'
    expect(proxiedBaseUrl('https://api.openai.com/v1', proxy)).toBe(
      'http://127.0.0.1:8787/https/api.openai.com/v1',
    )
    expect(proxiedBaseUrl('https://api.openai.com/v1/', `${proxy}/`)).toBe(
      'http://127.0.0.1:8787/https/api.openai.com/v1/',
    )
    expect(proxiedBaseUrl('https://api.github.com', proxy)).toBe('http://127.0.0.1:8787/https/api.github.com')
    expect(proxiedBaseUrl('https://api.github.com/', proxy)).toBe(
      'http://127.0.0.1:8787/https/api.github.com',
    )
    expect(
      proxiedBaseUrl(new URL('http://Local.Test:8080/a%2Fb?x=1'), new URL('https://gw.example.com/keyhole/')),
    ).toBe('https://gw.example.com/keyhole/http/local.test:8080/a%2Fb?x=1')
    expect(proxiedBaseUrl('https://api.example.com:443/x', proxy)).toBe(
      'http://127.0.0.1:8787/https/api.example.com/x',
    )
  })

  it('refuses URLs that cannot be proxied', () => {
    for (const [url, proxy] of [
      ['ftp://x.example.com/', 'http://p.test'],
      ['https://u:p@x.example.com/', 'http://p.test'],
      ['relative/path', 'http://p.test'],
      ['https://x.example.com/', 'not a url'],
      ['https://x.example.com/', 'http://p.test/#frag'],
    ] as const) {
      expect(() => proxiedBaseUrl(url, proxy)).toThrow(KeyholeClientError)
    }
  })
})
