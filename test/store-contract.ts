// The behaviour every RevocationStore keyhole ships must have. Test-only: imported by the store
// test files (memory, caching, Redis, Postgres) and never part of a published package.
import { isKeyholeError, MAX_JTI_BYTES, type RevocationStore } from '@keyhole/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/** What a store's test file hands the contract: a store created with `grace: 0`, and how to close it. */
export interface ContractTarget {
  store: RevocationStore
  close?: () => unknown
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const inMs = (ms: number) => new Date(Date.now() + ms)
const HOUR = 3_600_000

/** Ids that have broken key/SQL quoting, encodings and length limits elsewhere. */
export const weirdJtis: readonly string[] = [
  "it's",
  'say "hi"',
  'back\\slash',
  "'; drop table keyhole_revocations; --",
  '$1',
  '%s%n',
  '*?[ab]',
  'keyhole:revoked:nested',
  'with space',
  'tab\there',
  'line\nbreak\r\n',
  '\u00e9', // precomposed é
  'e\u0301', // e + combining accent: a different id, never normalized into the one above
  'ÅSTRÖM',
  'åström',
  '日本語のトークン',
  '🔑🗝️',
  'ﷺ',
  '\u200b\u200d', // zero-width characters
  '\uFEFFbom',
  'x'.repeat(MAX_JTI_BYTES), // longest ASCII id
  '🔑'.repeat(MAX_JTI_BYTES / 4), // longest id in four-byte characters
  'é'.repeat(MAX_JTI_BYTES / 2),
  '-',
  '0',
]

/** Ids no store accepts: each must reject with KeyholeError `bad_request`, on read and on write. */
export const invalidJtis: readonly unknown[] = [
  '',
  'x'.repeat(MAX_JTI_BYTES + 1),
  '🔑'.repeat(MAX_JTI_BYTES / 4) + 'x',
  'nul\0inside',
  '\uD800', // lone high surrogate
  'a\uDC00b', // lone low surrogate
  undefined,
  null,
  42,
  {},
]

/**
 * Registers the RevocationStore contract as a `describe` block. `setup` runs once; the store it
 * returns must keep revocations for no longer than their expiry (`grace: 0`) and start empty
 * (a fresh Redis prefix or Postgres table per test file).
 *
 * @example
 * ```ts
 * describeStoreContract('memory', () => ({ store: createMemoryStore({ grace: 0 }) }))
 * ```
 */
export function describeStoreContract(
  name: string,
  setup: () => ContractTarget | Promise<ContractTarget>,
): void {
  describe(`RevocationStore contract: ${name}`, () => {
    let target: ContractTarget
    let store: RevocationStore
    // Every test uses its own ids so the tests could share a store in any order.
    let counter = 0
    const id = (label: string) => `${label}-${++counter}-${Math.random().toString(36).slice(2)}`

    beforeAll(async () => {
      target = await setup()
      store = target.store
    })
    afterAll(async () => {
      await target?.close?.()
    })

    it('reports a revoked jti as revoked', async () => {
      const jti = id('revoked')
      await store.revoke(jti, inMs(HOUR))
      expect(await store.isRevoked(jti)).toBe(true)
    })

    it('reports an unknown jti as not revoked', async () => {
      expect(await store.isRevoked(id('unknown'))).toBe(false)
    })

    it('matches ids exactly: no prefix, case or Unicode-normalization matches', async () => {
      const base = id('Exact')
      await store.revoke(base, inMs(HOUR))
      for (const other of [base.toLowerCase(), base.slice(0, -1), base + 'x', ` ${base}`, `${base} `]) {
        expect(await store.isRevoked(other)).toBe(false)
      }
      await store.revoke('\u00e9-exact', inMs(HOUR))
      expect(await store.isRevoked('e\u0301-exact')).toBe(false)
    })

    it('revoking the same jti again is harmless', async () => {
      const jti = id('twice')
      await store.revoke(jti, inMs(HOUR))
      await store.revoke(jti, inMs(HOUR))
      expect(await store.isRevoked(jti)).toBe(true)
    })

    it('does not report a revocation whose token expired before it was revoked', async () => {
      const jti = id('already-expired')
      await store.revoke(jti, inMs(-60_000))
      expect(await store.isRevoked(jti)).toBe(false)
    })

    it('stops reporting a revocation once it expires, and keeps the later expiry when revoked twice', async () => {
      const expiring = id('expiring')
      const extended = id('extended')
      const notShortened = id('not-shortened')
      const soon = inMs(1_500)
      const later = inMs(HOUR)
      await store.revoke(expiring, soon)
      await store.revoke(extended, soon)
      await store.revoke(extended, later)
      await store.revoke(notShortened, later)
      await store.revoke(notShortened, soon)
      for (const jti of [expiring, extended, notShortened]) expect(await store.isRevoked(jti)).toBe(true)
      await sleep(soon.getTime() - Date.now() + 300)
      expect(await store.isRevoked(expiring)).toBe(false)
      expect(await store.isRevoked(extended)).toBe(true)
      expect(await store.isRevoked(notShortened)).toBe(true)
      // an expired id can be revoked again
      await store.revoke(expiring, later)
      expect(await store.isRevoked(expiring)).toBe(true)
    })

    it('handles many ids, concurrently', async () => {
      const revoked = Array.from({ length: 300 }, () => id('many'))
      const clean = Array.from({ length: 300 }, () => id('clean'))
      // 25 at a time: concurrent, without overrunning a small pool's timeout on a slow machine
      const inBatches = async <T>(items: string[], op: (jti: string) => Promise<T>) => {
        const out: T[] = []
        for (let i = 0; i < items.length; i += 25)
          out.push(...(await Promise.all(items.slice(i, i + 25).map(op))))
        return out
      }
      await inBatches(revoked, (jti) => store.revoke(jti, inMs(HOUR)))
      const answers = await inBatches([...revoked, ...clean], async (jti) => store.isRevoked(jti))
      expect(answers.slice(0, 300).every((a) => a === true)).toBe(true)
      expect(answers.slice(300).every((a) => a === false)).toBe(true)
    })

    it('stores odd ids exactly: quotes, wildcards, Unicode, control characters, the longest allowed', async () => {
      const revoked = weirdJtis.filter((_, i) => i % 2 === 0)
      const clean = weirdJtis.filter((_, i) => i % 2 === 1)
      for (const jti of revoked) await store.revoke(jti, inMs(HOUR))
      for (const jti of revoked)
        expect(await store.isRevoked(jti), JSON.stringify(jti.slice(0, 40))).toBe(true)
      for (const jti of clean)
        expect(await store.isRevoked(jti), JSON.stringify(jti.slice(0, 40))).toBe(false)
    })

    it('rejects ids it cannot store with KeyholeError bad_request', async () => {
      for (const jti of invalidJtis) {
        const read = await Promise.resolve()
          .then(() => store.isRevoked(jti as string))
          .catch((e: unknown) => e)
        const write = await Promise.resolve()
          .then(() => store.revoke(jti as string, inMs(HOUR)))
          .catch((e: unknown) => e)
        expect(isKeyholeError(read, 'bad_request'), `isRevoked(${String(jti).slice(0, 20)})`).toBe(true)
        expect(isKeyholeError(write, 'bad_request'), `revoke(${String(jti).slice(0, 20)})`).toBe(true)
      }
    })

    it('rejects an expiry that is not a valid Date with KeyholeError bad_request', async () => {
      for (const expiresAt of [new Date(Number.NaN), Date.now() + HOUR, '2099-01-01', null, undefined]) {
        const err = await Promise.resolve()
          .then(() => store.revoke(id('bad-date'), expiresAt as Date))
          .catch((e: unknown) => e)
        expect(isKeyholeError(err, 'bad_request')).toBe(true)
      }
    })
  })
}
