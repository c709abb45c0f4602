import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fakeToken } from '../test/helpers.js'
import { KeyholeClientError } from './errors.js'
import { fromEnv } from './from-env.js'

const seen: { url: string; token: string | null }[] = []
const server = setupServer(
  http.all('http://env-proxy.test/*', ({ request }) => {
    seen.push({ url: request.url, token: request.headers.get('x-keyhole-token') })
    return HttpResponse.text('ok')
  }),
)
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())

describe('fromEnv', () => {
  it('reads KEYHOLE_PROXY and comma- or whitespace-separated KEYHOLE_TOKENS', async () => {
    const a = fakeToken(['a.example.com'], 'a')
    const b = fakeToken(['b.example.com'], 'b')
    const c = fakeToken(['c.example.com'], 'c')
    const fetch = fromEnv({
      KEYHOLE_PROXY: ' http://env-proxy.test/ ',
      KEYHOLE_TOKENS: `${a},${b}\n  ${c} ,`,
    })
    await fetch('https://a.example.com/1')
    await fetch('https://b.example.com/2')
    await fetch('https://c.example.com/3')
    expect(seen).toEqual([
      { url: 'http://env-proxy.test/https/a.example.com/1', token: a },
      { url: 'http://env-proxy.test/https/b.example.com/2', token: b },
      { url: 'http://env-proxy.test/https/c.example.com/3', token: c },
    ])
  })

  it('refuses a missing proxy or missing tokens', () => {
    for (const env of [
      {},
      { KEYHOLE_TOKENS: fakeToken(['a.example.com']) },
      { KEYHOLE_PROXY: 'http://p.test' },
      { KEYHOLE_PROXY: 'http://p.test', KEYHOLE_TOKENS: ' , ' },
    ]) {
      expect(() => fromEnv(env)).toThrow(KeyholeClientError)
    }
  })

  it('defaults to process.env', () => {
    const saved = { proxy: process.env.KEYHOLE_PROXY, tokens: process.env.KEYHOLE_TOKENS }
    try {
      process.env.KEYHOLE_PROXY = 'http://env-proxy.test'
      process.env.KEYHOLE_TOKENS = fakeToken(['a.example.com'])
      expect(typeof fromEnv()).toBe('function')
      delete process.env.KEYHOLE_PROXY
      expect(() => fromEnv()).toThrow(/KEYHOLE_PROXY/)
    } finally {
      if (saved.proxy === undefined) delete process.env.KEYHOLE_PROXY
      else process.env.KEYHOLE_PROXY = saved.proxy
      if (saved.tokens === undefined) delete process.env.KEYHOLE_TOKENS
      else process.env.KEYHOLE_TOKENS = saved.tokens
    }
  })
})
