import { describe, expect, it } from 'vitest'
import { compileGateway } from './gateway-url.js'

const call = (route: ReturnType<typeof compileGateway>, url: string) => {
  const result = route(new URL(url))
  return result && { sendTo: result.sendTo, target: result.target.href }
}

describe('compileGateway', () => {
  it('sends calls to the upstream to the same path under the mount, keeping the query', () => {
    const route = compileGateway('https://gw.example.com/github/', 'https://api.github.com')
    expect(call(route, 'https://api.github.com/user?per_page=5')).toEqual({
      sendTo: 'https://gw.example.com/github/user?per_page=5',
      target: 'https://api.github.com/user',
    })
    expect(call(route, 'https://gw.example.com/github/repos/a/b')).toEqual({
      sendTo: 'https://gw.example.com/github/repos/a/b',
      target: 'https://api.github.com/repos/a/b',
    })
  })

  it('maps an upstream base path both ways, and only whole path segments', () => {
    const route = compileGateway('http://127.0.0.1:8787/oai', 'https://api.openai.com/v1')
    expect(call(route, 'https://api.openai.com/v1/chat/completions')).toEqual({
      sendTo: 'http://127.0.0.1:8787/oai/chat/completions',
      target: 'https://api.openai.com/v1/chat/completions',
    })
    expect(call(route, 'http://127.0.0.1:8787/oai')?.target).toBe('https://api.openai.com/v1')
    expect(call(route, 'https://api.openai.com/v10/x')).toBeUndefined()
    expect(call(route, 'http://127.0.0.1:8787/oaix/y')).toBeUndefined()
    expect(call(route, 'https://api.openai.com:8443/v1/x')).toBeUndefined()
    expect(call(route, 'http://api.openai.com/v1/x')).toBeUndefined()
  })

  it('mounted at the root, every path of the gateway origin is below it', () => {
    const route = compileGateway('https://gw.example.com', 'https://api.example.com/base')
    expect(call(route, 'https://gw.example.com/')).toEqual({
      sendTo: 'https://gw.example.com/',
      target: 'https://api.example.com/base/',
    })
    expect(call(route, 'https://gw.example.com/a')?.target).toBe('https://api.example.com/base/a')
  })

  it('refuses an upstream that is not a plain absolute http(s) URL', () => {
    for (const upstream of [
      'api.github.com',
      'ftp://x.example',
      'https://u:p@x.example',
      'https://x.example/?q',
    ])
      expect(() => compileGateway('https://gw.example.com', upstream)).toThrow(
        expect.objectContaining({ code: 'invalid_options' }),
      )
  })
})
