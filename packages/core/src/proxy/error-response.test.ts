import { describe, expect, it } from 'vitest'
import { errorStatus, KeyholeError } from '../errors.js'
import { errorResponse, publicMessage } from './error-response.js'

describe('errorResponse', () => {
  it.each(Object.entries(errorStatus))('%s answers %i as JSON with X-Keyhole-Error', async (code, status) => {
    const response = errorResponse(code as keyof typeof errorStatus)
    expect(response.status).toBe(status)
    expect(response.headers.get('x-keyhole-error')).toBe(code)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
    // A bare Bearer challenge when no token came, the DPoP one for proofs, invalid_token otherwise.
    const challenge =
      code === 'missing_token'
        ? 'Bearer'
        : code === 'invalid_proof'
          ? 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"'
          : 'Bearer error="invalid_token"'
    expect(response.headers.get('www-authenticate')).toBe(status === 401 ? challenge : null)
    const body = (await response.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe(code)
    expect(body.error.message.length).toBeGreaterThan(0)
  })
})

describe('publicMessage', () => {
  it('shows policy and target messages but never one that contains a secret', () => {
    const policy = new KeyholeError('host_not_allowed', 'https://evil.test:443 is not allowed by this token')
    expect(publicMessage('host_not_allowed', policy)).toBe(policy.message)
    const leaky = new KeyholeError('bad_target', 'cannot parse https://h/?key=SECRET-VALUE')
    expect(publicMessage('bad_target', leaky, ['SECRET-VALUE'])).not.toContain('SECRET-VALUE')
  })

  it('uses one fixed message per token failure, whatever was thrown', () => {
    const detailed = new KeyholeError('invalid_token', 'AES-GCM tag mismatch for kid abc')
    expect(publicMessage('invalid_token', detailed)).toBe('the keyhole token is not valid')
    expect(publicMessage('upstream_unreachable', new Error('fetch failed https://h/?k=SECRET'))).toBe(
      'the upstream could not be reached',
    )
  })
})
