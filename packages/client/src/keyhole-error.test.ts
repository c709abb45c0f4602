import { describe, expect, it } from 'vitest'
import { isKeyholeError, readKeyholeError } from './keyhole-error.js'

function proxyError(code: string, message: string, status: number): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { 'Content-Type': 'application/json', 'X-Keyhole-Error': code },
  })
}

describe('keyhole error responses', () => {
  it('tells proxy errors from upstream errors', async () => {
    expect(isKeyholeError(proxyError('host_not_allowed', 'nope', 403))).toBe(true)
    const upstream = new Response('{"message":"Bad credentials"}', { status: 401 })
    expect(isKeyholeError(upstream)).toBe(false)
    expect(await readKeyholeError(upstream)).toBeUndefined()
  })

  it('reads code, message and status, leaving the body readable', async () => {
    const response = proxyError('token_expired', 'the token has expired', 401)
    expect(await readKeyholeError(response)).toEqual({
      code: 'token_expired',
      message: 'the token has expired',
      status: 401,
    })
    expect(await response.json()).toEqual({
      error: { code: 'token_expired', message: 'the token has expired' },
    })
  })

  it('falls back to the header when the body is not the expected JSON or already read', async () => {
    const text = new Response('gateway exploded', {
      status: 502,
      headers: { 'X-Keyhole-Error': 'upstream_unreachable' },
    })
    expect(await readKeyholeError(text)).toEqual({ code: 'upstream_unreachable', message: '', status: 502 })
    const used = proxyError('token_revoked', 'revoked', 403)
    await used.text()
    expect(await readKeyholeError(used)).toEqual({ code: 'token_revoked', message: '', status: 403 })
  })
})
