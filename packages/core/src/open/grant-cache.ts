import type { Grant } from '../types.js'

/**
 * A bounded LRU of verified grants keyed by the exact token string. It only remembers that a
 * token decrypted and its claims were well formed; time checks and revocation still run on every
 * open. Entries die at the token's `exp`, whatever the opener's clock tolerance.
 */
export interface GrantCache {
  /** The grant for this token, or undefined if absent or at/after its `exp` (then it is dropped). */
  get(token: string, nowSeconds: number): Grant | undefined
  /** Remembers a grant, evicting the least recently used entry when full. No-op when `max` is 0. */
  set(token: string, grant: Grant): void
  delete(token: string): void
  /** Drops every entry whose grant matches, e.g. grants for a retired key. */
  deleteWhere(predicate: (grant: Grant) => boolean): void
  clear(): void
  readonly size: number
}

/** Creates a {@link GrantCache} holding at most `max` grants (`0` caches nothing). */
export function createGrantCache(max: number): GrantCache {
  // A Map iterates in insertion order, so re-inserting on a hit keeps the first key the least
  // recently used one: eviction is O(1) without a linked list.
  const entries = new Map<string, Grant>()
  // A fresh `entries.keys().next()` would scan the Map's table from its start, past every slot
  // deleted since V8 last compacted it: up to thousands per eviction once the cache is full and
  // turning over (measured: ~5x the cost of the insertion itself at 10,000 entries). One
  // long-lived iterator only moves forward and still yields the least recently used key: the
  // keys it has passed were evicted, and hits and new entries go in at the end, after it.
  let oldest: Iterator<string> | undefined
  const evictOldest = () => {
    let next = oldest?.next()
    if (next === undefined || next.done) {
      oldest = entries.keys()
      next = oldest.next()
    }
    if (!next.done) entries.delete(next.value)
  }
  return {
    get(token, nowSeconds) {
      const grant = entries.get(token)
      if (grant === undefined) return undefined
      entries.delete(token)
      if (nowSeconds >= grant.exp) return undefined
      entries.set(token, grant)
      return grant
    },
    set(token, grant) {
      if (max <= 0) return
      entries.delete(token)
      if (entries.size >= max) evictOldest()
      entries.set(token, grant)
    },
    delete(token) {
      entries.delete(token)
    },
    deleteWhere(predicate) {
      for (const [token, grant] of entries) if (predicate(grant)) entries.delete(token)
    },
    clear() {
      entries.clear()
    },
    get size() {
      return entries.size
    },
  }
}
