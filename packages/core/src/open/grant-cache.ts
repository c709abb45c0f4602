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

/**
 * What an entry is stored under: a string that stands for exactly one token, or `undefined` for a
 * token that cannot be cached (it is then never found and never stored).
 */
export type TokenKey = (token: string) => string | undefined

/**
 * Creates a {@link GrantCache} holding at most `max` grants (`0` caches nothing).
 *
 * Entries are keyed by `keyOf(token)`: by default the token's SHA-256 where the runtime hashes
 * synchronously (Node, see {@link sha256TokenKey}), else the token itself. A 730-character token
 * is a 752-byte string on V8's heap; its digest is 48 bytes. Either way a lookup needs the whole
 * token to match, never a part of it (a tag or a prefix would let a forged token reuse a grant).
 */
export function createGrantCache(max: number, keyOf: TokenKey | null = sha256TokenKey()): GrantCache {
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
  // The last token's key: an agent sends the same token request after request, and comparing
  // two equal strings is cheaper than hashing one again (the digest is a pure function of it).
  let lastToken: string | undefined
  let lastKey: string | undefined
  const keyFor = (token: string): string | undefined => {
    if (keyOf === null) return token
    if (token === lastToken) return lastKey
    const key = keyOf(token)
    lastToken = token
    lastKey = key
    return key
  }
  return {
    get(token, nowSeconds) {
      // A cache that holds nothing finds nothing: no digest of the token for it.
      if (max <= 0) return undefined
      const key = keyFor(token)
      if (key === undefined) return undefined
      const grant = entries.get(key)
      if (grant === undefined) return undefined
      entries.delete(key)
      if (nowSeconds >= grant.exp) return undefined
      entries.set(key, grant)
      return grant
    },
    set(token, grant) {
      if (max <= 0) return
      const key = keyFor(token)
      if (key === undefined) return
      entries.delete(key)
      if (entries.size >= max) evictOldest()
      entries.set(key, grant)
    },
    delete(token) {
      const key = keyFor(token)
      if (key !== undefined) entries.delete(key)
    },
    deleteWhere(predicate) {
      for (const [key, grant] of entries) if (predicate(grant)) entries.delete(key)
    },
    clear() {
      entries.clear()
    },
    get size() {
      return entries.size
    },
  }
}

type HashFunction = (algorithm: string, data: string, outputEncoding: string) => unknown
// ES2024, in V8 since Node 20; not in the ES2023 lib core compiles against.
type WellFormedCheck = (this: string) => boolean
interface NodeLikeProcess {
  getBuiltinModule?: (id: string) => { hash?: HashFunction } | undefined
}

// SHA-256('abc') as 32 one-byte characters: what a working `hash(…, 'latin1')` returns.
const ABC_SHA256 =
  '\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae\x22\x23\xb0\x03\x61\xa3\x96\x17\x7a\x9c\xb4\x10\xff\x61\xf2\x00\x15\xad'

let detected: TokenKey | null | undefined

/**
 * The token's SHA-256 as a 32-character one-byte string, computed synchronously with Node's
 * `crypto.hash` (reached through `process.getBuiltinModule`, so core imports nothing
 * platform-specific), or `null` where no such function answers correctly (then the cache keys by
 * the token itself).
 *
 * The digest is over the token's UTF-8 bytes. UTF-8 is one-to-one on well-formed strings only (a
 * lone surrogate encodes as U+FFFD would), so a token that is not well formed gets no key: it is
 * neither stored nor found. Keyhole tokens are ASCII, so none is refused; the check is free for
 * them (V8 answers it without scanning a one-byte string). Measured on the 2-CPU bench machine,
 * Node 20, a 730-character token, medians: the hash costs 0.6–1.0 µs, and the whole lookup (hash,
 * then a Map lookup by a 32-character key) 0.8–1.35 µs against 1.2–1.5 µs for a lookup by the
 * full token, which V8 must hash itself, one character at a time.
 */
export function sha256TokenKey(): TokenKey | null {
  if (detected !== undefined) return detected
  detected = null
  try {
    const proc = (globalThis as { process?: NodeLikeProcess }).process
    const hash = proc?.getBuiltinModule?.('node:crypto')?.hash
    const isWellFormed = (String.prototype as { isWellFormed?: WellFormedCheck }).isWellFormed
    if (
      typeof hash === 'function' &&
      typeof isWellFormed === 'function' &&
      hash('sha256', 'abc', 'latin1') === ABC_SHA256
    ) {
      detected = (token) =>
        isWellFormed.call(token) ? (hash('sha256', token, 'latin1') as string) : undefined
    }
  } catch {
    // No usable synchronous hash here: key by the token itself.
  }
  return detected
}
