import { afterEach, describe, expect, it, vi } from 'vitest'
import { describeStoreContract } from '../../../../test/store-contract.js'
import { isKeyholeError } from '../errors.js'
import { answerNow } from './answer-now.js'
import { createMemoryStore, type MemoryStore } from './memory-store.js'

const inMs = (ms: number) => new Date(Date.now() + ms)

describe('createMemoryStore', () => {
  const stores: MemoryStore[] = []
  const make = (...args: Parameters<typeof createMemoryStore>) => {
    const store = createMemoryStore(...args)
    stores.push(store)
    return store
  }
  afterEach(() => {
    for (const store of stores.splice(0)) store.close()
    vi.useRealTimers()
  })

  it('reports a revoked jti until its expiry plus grace, then forgets it', async () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const store = make({ grace: '10s', sweepInterval: false })
    await store.revoke('a', inMs(5_000))
    expect(await store.isRevoked('a')).toBe(true)
    vi.setSystemTime(1_000_000 + 14_999)
    expect(await store.isRevoked('a')).toBe(true)
    vi.setSystemTime(1_000_000 + 15_000)
    expect(await store.isRevoked('a')).toBe(false)
    expect(store.size).toBe(1)
    expect(store.sweep()).toBe(1)
    expect(store.size).toBe(0)
  })

  it("answers synchronously, as DESIGN's RevocationStore does when the answer is at hand", async () => {
    const store = make({ sweepInterval: false })
    await store.revoke('sync', inMs(60_000))
    expect(store.isRevoked('sync')).toBe(true)
    expect(store.isRevoked('other')).toBe(false)
    // A malformed id is still an error for await and .catch alike, not a throw at the call.
    const refused = store.isRevoked('')
    expect(refused).toBeInstanceOf(Promise)
    await expect(refused).rejects.toMatchObject({ code: 'bad_request' })
  })

  it('ignores a revocation whose token has already expired past the grace period', async () => {
    const store = make({ grace: '1s' })
    await store.revoke('old', inMs(-2_000))
    expect(store.size).toBe(0)
    expect(await store.isRevoked('old')).toBe(false)
    // still inside grace: kept, because an opener with clock tolerance may accept it
    await store.revoke('recent', inMs(-500))
    expect(await store.isRevoked('recent')).toBe(true)
  })

  it('sweeps in the background on its timer', async () => {
    vi.useFakeTimers({ now: 0 })
    const store = make({ grace: 0, sweepInterval: '1s' })
    await store.revoke('a', new Date(500))
    await store.revoke('b', new Date(10_000))
    expect(store.size).toBe(2)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(store.size).toBe(1)
    expect(await store.isRevoked('b')).toBe(true)
    store.close()
    vi.setSystemTime(20_000)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(store.size).toBe(1) // the closed store's timer no longer runs
    expect(vi.getTimerCount()).toBe(0)
  })

  it('sweeps a large backlog in batches, yielding between them', async () => {
    vi.useFakeTimers({ now: 0 })
    const store = make({ grace: 0, sweepInterval: '1s' })
    for (let i = 0; i < 50_000; i++) await store.revoke(`j${i}`, new Date(100))
    await store.revoke('keep', new Date(1e12))
    await vi.advanceTimersByTimeAsync(1_000)
    expect(store.size).toBeGreaterThan(1) // first batch only
    await vi.advanceTimersByTimeAsync(10)
    expect(store.size).toBe(1)
  })

  it('keeps the later expiry when revoked twice, and the heap stays consistent', async () => {
    vi.useFakeTimers({ now: 0 })
    const store = make({ grace: 0, sweepInterval: false })
    await store.revoke('a', new Date(1_000))
    await store.revoke('a', new Date(5_000))
    await store.revoke('a', new Date(2_000))
    vi.setSystemTime(3_000)
    expect(store.sweep()).toBe(0)
    expect(await store.isRevoked('a')).toBe(true)
    vi.setSystemTime(5_000)
    expect(store.sweep()).toBe(1)
    expect(await store.isRevoked('a')).toBe(false)
  })

  it('rejects with revocation_unavailable when full of unexpired revocations (default)', async () => {
    const store = make({ maxEntries: 3, grace: 0 })
    for (const jti of ['a', 'b', 'c']) await store.revoke(jti, inMs(60_000))
    const err = await store.revoke('d', inMs(60_000)).catch((e: unknown) => e)
    expect(isKeyholeError(err, 'revocation_unavailable')).toBe(true)
    expect(await store.isRevoked('d')).toBe(false)
    for (const jti of ['a', 'b', 'c']) expect(await store.isRevoked(jti)).toBe(true)
    // re-revoking a held id is not an insertion and still works when full
    await store.revoke('a', inMs(120_000))
  })

  it('makes room from expired entries before refusing', async () => {
    vi.useFakeTimers({ now: 0 })
    const store = make({ maxEntries: 2, grace: 0, sweepInterval: false })
    await store.revoke('a', new Date(100))
    await store.revoke('b', new Date(10_000))
    vi.setSystemTime(200)
    await store.revoke('c', new Date(10_000))
    expect(store.size).toBe(2)
    expect(await store.isRevoked('c')).toBe(true)
  })

  it("onFull: 'evict' forgets the revocation expiring soonest", async () => {
    vi.useFakeTimers({ now: 0 })
    const store = make({ maxEntries: 3, grace: 0, onFull: 'evict', sweepInterval: false })
    await store.revoke('late', new Date(30_000))
    await store.revoke('soon', new Date(10_000))
    await store.revoke('mid', new Date(20_000))
    await store.revoke('soon', new Date(25_000)) // now 'mid' expires soonest
    await store.revoke('new', new Date(40_000))
    expect(store.size).toBe(3)
    expect(await store.isRevoked('mid')).toBe(false)
    for (const jti of ['late', 'soon', 'new']) expect(await store.isRevoked(jti)).toBe(true)
  })

  it('validates its arguments with KeyholeError bad_request', async () => {
    const store = make()
    const bad: unknown[] = ['', 'x'.repeat(1025), 'a\0b', '\uD800', 'ok\uDC00', 42, null]
    for (const jti of bad) {
      expect(
        isKeyholeError(
          await Promise.resolve(store.isRevoked(jti as string)).catch((e: unknown) => e),
          'bad_request',
        ),
      ).toBe(true)
      expect(
        isKeyholeError(await store.revoke(jti as string, inMs(1e3)).catch((e) => e), 'bad_request'),
      ).toBe(true)
    }
    for (const date of [new Date(Number.NaN), 123, '2030-01-01', undefined]) {
      expect(isKeyholeError(await store.revoke('a', date as Date).catch((e) => e), 'bad_request')).toBe(true)
    }
    expect(() => createMemoryStore({ maxEntries: 0 })).toThrow(/maxEntries/)
  })

  it('holds a million revocations', async () => {
    const store = make({ sweepInterval: false })
    const exp = inMs(3_600_000)
    for (let i = 0; i < 1_000_000; i++) await store.revoke(`jti-${i}`, exp)
    expect(store.size).toBe(1_000_000)
    expect(await store.isRevoked('jti-999999')).toBe(true)
    expect(await store.isRevoked('jti-1000000')).toBe(false)
    expect(
      isKeyholeError(await store.revoke('one-more', exp).catch((e) => e), 'revocation_unavailable'),
    ).toBe(true)
  })
})

describeStoreContract('memory', () => {
  const store = createMemoryStore({ grace: 0 })
  return { store, close: () => store.close() }
})

describe('the memory store answering the opener at once', () => {
  it('answers exactly what isRevoked answers, and nothing for an id isRevoked refuses', async () => {
    const store = createMemoryStore({ grace: 0, sweepInterval: false })
    await store.revoke('revoked-long', inMs(60_000))
    await store.revoke('revoked-briefly', inMs(20))
    await new Promise((resolve) => setTimeout(resolve, 40))
    for (const jti of ['revoked-long', 'revoked-briefly', 'never-revoked']) {
      expect(answerNow(store, jti)).toBe(await store.isRevoked(jti))
    }
    expect(answerNow(store, 'revoked-long')).toBe(true)
    expect(answerNow(store, 'revoked-briefly')).toBe(false)
    for (const bad of ['', 'nul\0id', '\uD800']) {
      expect(answerNow(store, bad)).toBeUndefined()
      await expect(store.isRevoked(bad)).rejects.toMatchObject({ code: 'bad_request' })
    }
    store.close()
  })
})
