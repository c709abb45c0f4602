import { describe, expect, it } from 'vitest'
import { isKeyholeError, type KeyholeErrorCode } from '../errors.js'
import { readToken } from './read-token.js'

// Shaped like a compact JWE: five base64url parts.
const T1 = 'eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.a2V5.aXY.Y2lwaGVy.dGFn'
const T2 = 'eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.b3RoZXI.aXY.Y2lwaGVy.dGFn'

const code = (fn: () => unknown): KeyholeErrorCode | undefined => {
  try {
    fn()
  } catch (error) {
    if (isKeyholeError(error)) return error.code
    throw error
  }
  return undefined
}

describe('readToken', () => {
  it('reads X-Keyhole-Token, Authorization: Bearer and the operator headers', () => {
    expect(readToken(new Headers({ 'x-keyhole-token': T1 }))).toBe(T1)
    expect(readToken(new Headers({ authorization: `Bearer ${T1}` }))).toBe(T1)
    expect(readToken(new Headers({ authorization: `bearer   ${T1}` }))).toBe(T1)
    expect(readToken(new Headers({ 'x-api-key': T1 }), ['x-api-key'])).toBe(T1)
  })

  it('reads Proxy-Authorization: Bearer, or Basic with any user name and the token as password', () => {
    expect(readToken(new Headers({ 'proxy-authorization': `Bearer ${T1}` }))).toBe(T1)
    expect(readToken(new Headers({ 'proxy-authorization': `Basic ${btoa(`keyhole:${T1}`)}` }))).toBe(T1)
    expect(readToken(new Headers({ 'proxy-authorization': `basic ${btoa(`:${T1}`)}` }))).toBe(T1)
    // After Authorization in order, and one token wherever it appears.
    expect(
      readToken(
        new Headers({ authorization: `Bearer ${T1}`, 'proxy-authorization': `Basic ${btoa(`u:${T1}`)}` }),
      ),
    ).toBe(T1)
    expect(
      code(() =>
        readToken(new Headers({ 'x-keyhole-token': T1, 'proxy-authorization': `Basic ${btoa(`u:${T2}`)}` })),
      ),
    ).toBe('invalid_token')
    // Several tokens in one proxy password are chosen among only by the forward proxy.
    expect(
      code(() => readToken(new Headers({ 'proxy-authorization': `Basic ${btoa(`keyhole:${T1},${T2}`)}` }))),
    ).toBe('invalid_token')
    expect(code(() => readToken(new Headers({ 'proxy-authorization': 'Bearer a b' })))).toBe('invalid_token')
  })

  it('ignores a Proxy-Authorization that is not Bearer or well-formed Basic', () => {
    for (const value of [
      'Digest username="x"',
      'Basic !!!',
      `Basic ${btoa('no-colon')}`,
      `Basic ${btoa('user:')}`,
    ]) {
      expect(code(() => readToken(new Headers({ 'proxy-authorization': value })))).toBe('missing_token')
      expect(readToken(new Headers({ 'x-keyhole-token': T1, 'proxy-authorization': value }))).toBe(T1)
    }
  })

  it('ignores headers that are not token sources', () => {
    expect(code(() => readToken(new Headers({ 'x-api-key': T1 })))).toBe('missing_token')
    expect(code(() => readToken(new Headers({ authorization: 'Basic dXNlcjpwYXNz' })))).toBe('missing_token')
    expect(code(() => readToken(new Headers({ 'x-keyhole-token': '' })))).toBe('missing_token')
    expect(code(() => readToken(new Headers()))).toBe('missing_token')
  })

  it('refuses a header sent twice (merged with a comma), even with the same token twice', () => {
    const headers = new Headers()
    headers.append('x-keyhole-token', T1)
    headers.append('x-keyhole-token', T1)
    expect(code(() => readToken(headers))).toBe('invalid_token')
    const bearer = new Headers()
    bearer.append('authorization', `Bearer ${T1}`)
    bearer.append('authorization', `Bearer ${T2}`)
    expect(code(() => readToken(bearer))).toBe('invalid_token')
    expect(code(() => readToken(new Headers({ authorization: 'Bearer ' })))).toBe('missing_token')
    expect(code(() => readToken(new Headers({ authorization: 'Bearer a b' })))).toBe('invalid_token')
  })

  it('accepts the same token in several places', () => {
    expect(
      readToken(new Headers({ 'x-keyhole-token': T1, authorization: `Bearer ${T1}`, 'x-api-key': T1 }), [
        'x-api-key',
      ]),
    ).toBe(T1)
  })

  it('takes the only token-shaped value when the others are SDK placeholders', () => {
    expect(readToken(new Headers({ 'x-keyhole-token': T1, authorization: 'Bearer sk-placeholder' }))).toBe(T1)
    expect(readToken(new Headers({ authorization: 'Bearer dummy', 'x-api-key': T1 }), ['x-api-key'])).toBe(T1)
  })

  it('refuses two different tokens, or two different values none of which is a token', () => {
    expect(code(() => readToken(new Headers({ 'x-keyhole-token': T1, authorization: `Bearer ${T2}` })))).toBe(
      'invalid_token',
    )
    expect(
      code(() => readToken(new Headers({ 'x-keyhole-token': 'abc', 'x-api-key': 'def' }), ['x-api-key'])),
    ).toBe('invalid_token')
  })

  it('hands a single malformed value on (the opener refuses it with one opaque code)', () => {
    expect(readToken(new Headers({ 'x-keyhole-token': 'not-a-token' }))).toBe('not-a-token')
  })
})
