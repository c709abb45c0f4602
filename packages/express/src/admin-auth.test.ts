import { describe, expect, test } from 'vitest'
import { createAdminCheck } from './admin-auth.js'

describe('createAdminCheck (node:crypto)', () => {
  const admin = 'admin-token-0123456789abcdef'
  const check = createAdminCheck(admin)

  test('accepts the admin token as a bearer credential', () => {
    expect(check(`Bearer ${admin}`)).toBe(true)
    expect(check(`bearer ${admin}`)).toBe(true)
  })

  test.each([
    undefined,
    '',
    'Bearer',
    `Basic ${admin}`,
    admin,
    `Bearer ${admin}x`,
    `Bearer ${admin.slice(0, -1)}`,
    `Bearer ${admin} extra`,
  ])('refuses %j', (header) => {
    expect(check(header)).toBe(false)
  })

  test('refuses to be configured without a token', () => {
    expect(() => createAdminCheck('')).toThrow(expect.objectContaining({ code: 'bad_request' }))
  })
})
