import { afterEach, describe, expect, it, vi } from 'vitest'
import { describeStoreContract } from '../../../../test/store-contract.js'
import { isKeyholeError, KeyholeError } from '../errors.js'
import { answerNow } from './answer-now.js'
import { type CachingStore, createCachingStore } from './caching-store.js'
import { createMemoryStore, type MemoryStore } from './memory-store.js'
import type { RevocationFeed, RevocationStore } from './store.js'

const inMs = (ms: number) => new Date(Date.now() + ms)

/** A real memory store that counts the calls reaching it and can be made slow or failing. */
function instrumented(inner: MemoryStore = createMemoryStore({ grace: 0, sweepInterval: false })) {
  const calls = { isRevoked: 0, revoke: 0 }
  let failWith: unknown
  let delay: Promise<void> | undefined
  const store: RevocationStore = {
    async isRevoked(jti) {
      calls.isRevoked++
      if (delay) await delay
      if (failWith !== undefined) throw failWith
      return inner.isRevoked(jti)
    },
    async revoke(jti, expiresAt) {
      calls.revoke++
      if (delay) await delay
      if (failWith !== undefined) throw failWith
      return inner.revoke(jti, expiresAt)
    },
  }
  return {
    store,
    inner,
    calls,
    fail(err: unknown) {
      failWith = err
    },
    hold() {
      let release!: () => void
      delay = new Promise((resolve) => {
        release = resolve
      })
      return () => {
        delay = undefined
        release()
      }
    },
  }
}

/** An in-process feed: what Redis pub/sub or LISTEN/NOTIFY deliver, without the network. */
function localFeed() {
  const listeners = new Set<(jti: string) => void>()
  const feed: RevocationFeed = {
    onRevoked(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
  return {
    feed,
    listeners,
    push: (jti: string) => {
      for (const listener of listeners) listener(jti)
    },
  }
}

describe('createCachingStore', () => {
  const opened: CachingStore[] = []
  const make = (...args: Parameters<typeof createCachingStore>) => {
    const store = createCachingStore(...args)
    opened.push(store)
    return store
  }
  afterEach(() => {
    for (const store of opened.splice(0)) store.close()
    vi.useRealTimers()
  })

  it('answers repeated lookups from the cache', async () => {
    const t = instrumented()
    await t.inner.revoke('r', inMs(60_000))
    const cache = make(t.store)
    for (let i = 0; i < 5; i++) {
      expect(await cache.isRevoked('r')).toBe(true)
      expect(await cache.isRevoked('n')).toBe(false)
    }
    expect(t.calls.isRevoked).toBe(2)
    expect(cache.stats).toEqual({ hits: 8, misses: 2 })
  })

  it('answers synchronously when the answer is cached, with a promise when it must ask', async () => {
    const t = instrumented()
    await t.inner.revoke('r', inMs(60_000))
    const cache = make(t.store)
    const first = cache.isRevoked('r')
    expect(first).toBeInstanceOf(Promise)
    expect(await first).toBe(true)
    expect(cache.isRevoked('r')).toBe(true)
    await cache.revoke('mine', inMs(60_000))
    expect(cache.isRevoked('mine')).toBe(true)
  })

  it('keeps "not revoked" for negativeTtl and "revoked" for ttl', async () => {
    vi.useFakeTimers({ now: 0 })
    const t = instrumented()
    await t.inner.revoke('r', new Date(3_600_000))
    const cache = make(t.store, { ttl: '10s', negativeTtl: '1s' })
    await cache.isRevoked('r')
    await cache.isRevoked('n')
    vi.setSystemTime(999)
    await cache.isRevoked('n')
    expect(t.calls.isRevoked).toBe(2)
    await t.inner.revoke('n', new Date(3_600_000)) // revoked elsewhere, no feed
    vi.setSystemTime(1_000)
    expect(await cache.isRevoked('n')).toBe(true) // negative answer expired: asked again
    expect(t.calls.isRevoked).toBe(3)
    vi.setSystemTime(9_999)
    await cache.isRevoked('r')
    expect(t.calls.isRevoked).toBe(3)
    vi.setSystemTime(10_000)
    await cache.isRevoked('r')
    expect(t.calls.isRevoked).toBe(4)
  })

  it('negativeTtl 0 asks the store every time for unrevoked ids', async () => {
    const t = instrumented()
    const cache = make(t.store, { negativeTtl: 0 })
    for (let i = 0; i < 3; i++) await cache.isRevoked('n')
    expect(t.calls.isRevoked).toBe(3)
  })

  it('shares one lookup among concurrent misses for the same jti', async () => {
    const t = instrumented()
    const cache = make(t.store)
    const release = t.hold()
    const answers = Array.from({ length: 32 }, () => cache.isRevoked('same'))
    const other = cache.isRevoked('other')
    release()
    expect(await Promise.all(answers)).toEqual(Array(32).fill(false))
    expect(await other).toBe(false)
    expect(t.calls.isRevoked).toBe(2)
  })

  it('propagates store errors as KeyholeError revocation_unavailable and never caches them', async () => {
    const t = instrumented()
    const cache = make(t.store)
    t.fail(new Error('ECONNREFUSED'))
    const results = await Promise.allSettled([cache.isRevoked('x'), cache.isRevoked('x')])
    for (const r of results) {
      expect(r.status).toBe('rejected')
      expect(isKeyholeError((r as PromiseRejectedResult).reason, 'revocation_unavailable')).toBe(true)
      expect((r as PromiseRejectedResult).reason.cause).toBeInstanceOf(Error)
    }
    expect(t.calls.isRevoked).toBe(1)
    t.fail(undefined)
    expect(await cache.isRevoked('x')).toBe(false)
    expect(t.calls.isRevoked).toBe(2)
  })

  it('passes KeyholeErrors through unchanged, also from a store that throws synchronously', async () => {
    const original = new KeyholeError('revocation_unavailable', 'store said no')
    const cache = make({
      isRevoked() {
        throw original
      },
      revoke() {
        throw new TypeError('boom')
      },
    })
    expect(await Promise.resolve(cache.isRevoked('x')).catch((e: unknown) => e)).toBe(original)
    const err = await cache.revoke('x', inMs(1_000)).catch((e) => e)
    expect(isKeyholeError(err, 'revocation_unavailable')).toBe(true)
  })

  it('revoke() marks the jti revoked here at once, before the write completes', async () => {
    const t = instrumented()
    const cache = make(t.store)
    expect(await cache.isRevoked('r')).toBe(false) // a cached negative answer
    const release = t.hold()
    const writing = cache.revoke('r', inMs(60_000))
    expect(await cache.isRevoked('r')).toBe(true)
    release()
    await writing
    expect(await t.inner.isRevoked('r')).toBe(true)
    expect(t.calls.isRevoked).toBe(1)
  })

  it('a failed write rejects but the local mark stays', async () => {
    const t = instrumented()
    const cache = make(t.store)
    t.fail(new Error('down'))
    const err = await cache.revoke('r', inMs(60_000)).catch((e) => e)
    expect(isKeyholeError(err, 'revocation_unavailable')).toBe(true)
    expect(await cache.isRevoked('r')).toBe(true)
  })

  it('validates revoke() arguments before touching the cache', async () => {
    const cache = make(instrumented().store)
    expect(isKeyholeError(await cache.revoke('', inMs(1_000)).catch((e) => e), 'bad_request')).toBe(true)
    expect(isKeyholeError(await cache.revoke('a', new Date(Number.NaN)).catch((e) => e), 'bad_request')).toBe(
      true,
    )
    expect(cache.size).toBe(0)
  })

  it('a pushed revocation overrides a cached "not revoked" at once', async () => {
    const t = instrumented()
    const f = localFeed()
    const cache = make(t.store, { feed: f.feed, negativeTtl: '1h' })
    expect(await cache.isRevoked('p')).toBe(false)
    f.push('p')
    expect(await cache.isRevoked('p')).toBe(true)
    expect(t.calls.isRevoked).toBe(1)
  })

  it('a push that lands while a lookup is in flight wins over its stale answer', async () => {
    const t = instrumented()
    const f = localFeed()
    const cache = make(t.store, { feed: f.feed, negativeTtl: '1h' })
    const release = t.hold()
    const answer = cache.isRevoked('p')
    f.push('p')
    release()
    expect(await answer).toBe(true)
    expect(await cache.isRevoked('p')).toBe(true)
  })

  it('invalidate() during a lookup keeps its answer out of the cache', async () => {
    const t = instrumented()
    const cache = make(t.store, { negativeTtl: '1h' })
    const release = t.hold()
    const answer = cache.isRevoked('i')
    cache.invalidate('i')
    release()
    expect(await answer).toBe(false)
    expect(cache.size).toBe(0)
  })

  it('invalidate() makes the next lookup ask the store', async () => {
    const t = instrumented()
    const cache = make(t.store, { negativeTtl: '1h' })
    await cache.isRevoked('i')
    await t.inner.revoke('i', inMs(60_000))
    expect(await cache.isRevoked('i')).toBe(false)
    cache.invalidate('i')
    expect(await cache.isRevoked('i')).toBe(true)
    cache.clear()
    expect(cache.size).toBe(0)
  })

  it('subscribes to the wrapped store when it is a feed, unless feed: false', async () => {
    const f = localFeed()
    const t = instrumented()
    const both = Object.assign(t.store, f.feed)
    const auto = make(both, { negativeTtl: '1h' })
    const off = make(both, { feed: false, negativeTtl: '1h' })
    await auto.isRevoked('s')
    await off.isRevoked('s')
    expect(f.listeners.size).toBe(1)
    f.push('s')
    expect(await auto.isRevoked('s')).toBe(true)
    expect(await off.isRevoked('s')).toBe(false)
    auto.close()
    expect(f.listeners.size).toBe(0)
  })

  it('stays within maxEntries, dropping the oldest answers first', async () => {
    const t = instrumented()
    const cache = make(t.store, { maxEntries: 10, negativeTtl: '1h' })
    for (let i = 0; i < 100; i++) await cache.isRevoked(`j${i}`)
    expect(cache.size).toBe(10)
    await cache.isRevoked('j99')
    expect(t.calls.isRevoked).toBe(100)
    await cache.isRevoked('j0')
    expect(t.calls.isRevoked).toBe(101)
  })
})

describeStoreContract('caching(memory)', () => {
  const inner = createMemoryStore({ grace: 0 })
  // ttl shorter than the contract's expiry wait, since a cached "revoked" may outlive the token
  const store = createCachingStore(inner, { ttl: '500ms' })
  return {
    store,
    close: () => {
      store.close()
      inner.close()
    },
  }
})

describe('the caching store answering the opener at once', () => {
  it('answers from its cache only, counts those as hits, and agrees with isRevoked', async () => {
    const inner = createMemoryStore({ grace: 0, sweepInterval: false })
    await inner.revoke('revoked-elsewhere', inMs(60_000))
    const caching = createCachingStore(inner, { negativeTtl: '10m' })
    // Nothing cached yet: no answer, the opener must ask.
    expect(answerNow(caching, 'revoked-elsewhere')).toBeUndefined()
    expect(answerNow(caching, 'fine')).toBeUndefined()
    expect(caching.stats.hits).toBe(0)
    expect(await caching.isRevoked('revoked-elsewhere')).toBe(true)
    expect(await caching.isRevoked('fine')).toBe(false)
    expect(answerNow(caching, 'revoked-elsewhere')).toBe(true)
    expect(answerNow(caching, 'fine')).toBe(false)
    expect(caching.stats.hits).toBe(2)
    // A local revoke is known at once.
    await caching.revoke('fine', inMs(60_000))
    expect(answerNow(caching, 'fine')).toBe(true)
    caching.invalidate('fine')
    expect(answerNow(caching, 'fine')).toBeUndefined()
    caching.close()
    inner.close()
  })
})
