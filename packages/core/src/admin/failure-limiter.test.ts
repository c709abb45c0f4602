import { describe, expect, it } from 'vitest'
import { createFailureLimiter } from './failure-limiter.js'

describe('createFailureLimiter', () => {
  it('blocks an address after `failures` failures until its window ends', () => {
    let clock = 0
    const limiter = createFailureLimiter({ failures: 3, window: '10s', now: () => clock })
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfter('a')).toBe(0)
      limiter.fail('a')
    }
    expect(limiter.retryAfter('a')).toBe(10)
    expect(limiter.retryAfter('b')).toBe(0)
    clock = 9_500
    expect(limiter.retryAfter('a')).toBe(1)
    clock = 10_000
    expect(limiter.retryAfter('a')).toBe(0)
    expect(limiter.size).toBe(0)
  })

  it('keeps at most maxAddresses, dropping expired windows first, then the oldest', () => {
    let clock = 0
    const limiter = createFailureLimiter({ failures: 1, window: '10s', maxAddresses: 3, now: () => clock })
    limiter.fail('old')
    clock = 5_000
    limiter.fail('b')
    limiter.fail('c')
    clock = 10_000
    // 'old' has expired: it makes room, and the live ones stay.
    limiter.fail('d')
    expect(limiter.size).toBe(3)
    expect(limiter.retryAfter('b')).toBe(5)
    // All live: the longest-tracked goes.
    limiter.fail('e')
    expect(limiter.size).toBe(3)
    expect(limiter.retryAfter('b')).toBe(0)
    expect(limiter.retryAfter('e')).toBe(10)
    for (let i = 0; i < 10_000; i++) limiter.fail(`spray-${i}`)
    expect(limiter.size).toBe(3)
  })

  it('refuses nonsense limits', () => {
    expect(() => createFailureLimiter({ failures: 0 })).toThrow(
      expect.objectContaining({ code: 'bad_request' }),
    )
    expect(() => createFailureLimiter({ maxAddresses: 1.5 })).toThrow(
      expect.objectContaining({ code: 'bad_request' }),
    )
    expect(() => createFailureLimiter({ window: 0 })).toThrow(
      expect.objectContaining({ code: 'bad_request' }),
    )
  })
})
