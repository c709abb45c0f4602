import { describe, expect, it } from 'vitest'
import { compileScrubber } from './compile-scrubber.js'

const SECRET = 'sk-test-123'
const MASK = '*'.repeat(SECRET.length)

describe('Scrubber.scrubHeaders', () => {
  it('masks every header value and keeps every header', () => {
    const headers = new Headers({
      location: `https://app.example/cb?api_key=${SECRET}`,
      link: `<https://api.example/next?key=${encodeURIComponent(SECRET)}>; rel="next"`,
      'www-authenticate': `Bearer realm="api", error="invalid_token", token="${SECRET}"`,
      'x-echo-authorization': `Basic ${btoa(`user:${SECRET}`)}`,
      'content-type': 'application/json',
    })
    const count = compileScrubber([SECRET, `Basic ${btoa(`user:${SECRET}`)}`]).scrubHeaders(headers)
    expect(count).toBe(4)
    expect(headers.get('location')).toBe(`https://app.example/cb?api_key=${MASK}`)
    expect(headers.get('link')).toBe(`<https://api.example/next?key=${MASK}>; rel="next"`)
    expect(headers.get('www-authenticate')).toBe(`Bearer realm="api", error="invalid_token", token="${MASK}"`)
    // The whole rendered value is a secret of its own: all of it goes, not just the password part.
    expect(headers.get('x-echo-authorization')).toBe('*'.repeat(`Basic ${btoa(`user:${SECRET}`)}`.length))
    expect(headers.get('content-type')).toBe('application/json')
  })

  it('scrubs each Set-Cookie on its own and keeps them separate', () => {
    const headers = new Headers()
    headers.append('set-cookie', `session=${SECRET}; Path=/; HttpOnly`)
    headers.append('set-cookie', 'theme=dark; Path=/')
    headers.append('set-cookie', `echo=${Buffer.from(SECRET).toString('base64url')}; Secure`)
    expect(compileScrubber([SECRET]).scrubHeaders(headers)).toBe(2)
    const cookies = headers.getSetCookie()
    expect(cookies).toHaveLength(3)
    expect(cookies[0]).toBe(`session=${MASK}; Path=/; HttpOnly`)
    expect(cookies[1]).toBe('theme=dark; Path=/')
    expect(cookies[2]).toMatch(/^echo=\*{14}[^*]?; Secure$/)
  })

  it('finds a non-ASCII secret in a header byte string (UTF-8 read as Latin-1)', () => {
    const secret = 'clé-secrète'
    const asLatin1 = String.fromCharCode(...new TextEncoder().encode(secret))
    const headers = new Headers({ 'x-echo': `k=${asLatin1}` })
    expect(compileScrubber([secret]).scrubHeaders(headers)).toBe(1)
    expect(headers.get('x-echo')).toBe(`k=${'*'.repeat(13)}`)
  })

  it('leaves headers without a secret alone', () => {
    const headers = new Headers({ location: '/next', 'set-cookie': 'a=b' })
    expect(compileScrubber([SECRET]).scrubHeaders(headers)).toBe(0)
    expect([...headers]).toEqual([
      ['location', '/next'],
      ['set-cookie', 'a=b'],
    ])
  })
})
