import { describe, expect, it } from 'vitest'
import { fakeToken } from '../test/helpers.js'
import { KeyholeClientError } from './errors.js'
import { readTokenHosts } from './read-token-hosts.js'

describe('readTokenHosts', () => {
  it('reads the hosts hint, UTF-8 included', () => {
    expect(readTokenHosts(fakeToken(['api.github.com', '*.bücher.de']))).toEqual([
      'api.github.com',
      '*.bücher.de',
    ])
  })

  it('refuses anything else without echoing it', () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    for (const token of [
      'SECRET-not-a-token',
      `${b64({ hosts: ['a.example.com'] })}.a.b.c`,
      `${b64({ alg: 'x' })}.a.b.c.d`,
      `${b64({ hosts: [] })}.a.b.c.d`,
      `${b64({ hosts: [1] })}.a.b.c.d`,
      `${b64({ hosts: 'a.example.com' })}.a.b.c.d`,
      `${b64(null)}.a.b.c.d`,
      '!!!.a.b.c.d',
      `${Buffer.from([0xff, 0xfe]).toString('base64url')}.a.b.c.d`,
    ]) {
      let error: unknown
      try {
        readTokenHosts(token)
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(KeyholeClientError)
      expect((error as KeyholeClientError).code).toBe('invalid_token')
      expect((error as Error).message).not.toContain('SECRET')
    }
  })
})
