import { assertValidPolicy, createInjectorRegistry, isKeyholeError } from '@keyhole/core'
import { describe, expect, it } from 'vitest'
import { awsSigV4Injector } from './aws-sigv4.js'

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const valid = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: SECRET,
  region: 'eu-west-1',
  service: 'execute-api',
}

describe('aws-sigv4 entries', () => {
  it('validates its fields, naming the field and never the value', () => {
    expect(() => awsSigV4Injector.validate(valid, 'inject[0]')).not.toThrow()
    for (const bad of [
      { ...valid, secretAccessKey: `${SECRET}\r\n` },
      { ...valid, secretAccessKey: `${SECRET} x` },
      { ...valid, accessKeyId: 'AKIA/other' },
      { ...valid, region: 'EU WEST' },
      { ...valid, service: '' },
      { ...valid, sessionToken: 'a\nb' },
      { ...valid, region: undefined },
    ]) {
      let error: unknown
      try {
        awsSigV4Injector.validate(bad, 'inject[0]')
      } catch (e) {
        error = e
      }
      expect(isKeyholeError(error, 'invalid_grant')).toBe(true)
      expect((error as Error).message).toMatch(/^inject\[0\]\.\w+/)
      expect((error as Error).message).not.toContain(SECRET)
    }
  })

  it('is a signing injector that owns Authorization, X-Amz-Date and X-Amz-Security-Token', () => {
    const entry = { type: 'aws-sigv4', ...valid } as const
    expect(awsSigV4Injector.signs).toBe(true)
    expect(awsSigV4Injector.writesHeaders(entry)).toEqual([
      'authorization',
      'x-amz-date',
      'x-amz-security-token',
    ])
    expect(awsSigV4Injector.needsBody(entry, { headers: new Headers() })).toBe(true)
    expect(
      awsSigV4Injector.needsBody(entry, {
        headers: new Headers({ 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }),
      }),
    ).toBe(false)
  })

  it('mints through a registry that has it, and conflicts with a header named Authorization', () => {
    const injectors = createInjectorRegistry([awsSigV4Injector])
    const inject = [{ type: 'aws-sigv4', ...valid }]
    expect(() => assertValidPolicy({ hosts: ['api.example.com'], inject }, injectors)).not.toThrow()
    expect(() => assertValidPolicy({ hosts: ['api.example.com'], inject })).toThrow(/inject\[0\]\.type/)
    expect(() =>
      assertValidPolicy(
        {
          hosts: ['api.example.com'],
          inject: [...inject, { type: 'header', name: 'Authorization', value: 'x' }],
        },
        injectors,
      ),
    ).toThrow('inject[1] injects the same header as inject[0]')
  })
})
