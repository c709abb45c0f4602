import { describe, expect, test } from 'vitest'
import { createAdminCheck } from './admin-auth.js'

describe('createAdminCheck (WebCrypto)', () => {
  const admin = 'admin-token-0123456789abcdef'
  const check = createAdminCheck(admin)

  test('accepts the admin token as a bearer credential, any scheme case', async () => {
    expect(await check(`Bearer ${admin}`)).toBe(true)
    expect(await check(`bearer ${admin}`)).toBe(true)
  })

  test.each([
    undefined,
    '',
    'Bearer',
    'Bearer ',
    `Basic ${admin}`,
    admin,
    `Bearer ${admin}x`,
    `Bearer ${admin.slice(0, -1)}`,
    `Bearer ${admin.toUpperCase()}`,
    `Bearer ${admin} extra`,
  ])('refuses %j', async (header) => {
    expect(await check(header)).toBe(false)
  })

  test('refuses to be configured without a token', () => {
    expect(() => createAdminCheck('')).toThrow(expect.objectContaining({ code: 'bad_request' }))
    expect(() => createAdminCheck(undefined as unknown as string)).toThrow(
      expect.objectContaining({ code: 'bad_request' }),
    )
  })
})
