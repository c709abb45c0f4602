import { type Automaton, buildAutomaton } from './automaton.js'
import { scrubBytesWith } from './scrub-bytes.js'
import { scrubHeadersWith } from './scrub-headers.js'
import { type ScrubStream, scrubStreamWith } from './scrub-stream.js'
import { scrubTextWith } from './scrub-text.js'
import { searchSet } from './search-set.js'

/**
 * Masks a grant's secrets, in every form they can take (see `secretForms`), in response headers
 * and bodies. Every match becomes as many `*` as it had bytes. One automaton searches all forms of
 * all secrets in a single pass.
 *
 * @example
 * ```ts
 * const scrubber: Scrubber = compileScrubber(secrets)
 * const masked = scrubber.scrubHeaders(headers) + scrubber.scrubBytes(body)
 * ```
 */
export interface Scrubber {
  /** True when there is nothing to search for: every method changes nothing. */
  readonly empty: boolean
  /** How many byte strings the automaton searches for (the search set). */
  readonly patternCount: number
  /** Masks matches in `text` (searched as UTF-8). */
  scrubText(text: string): { text: string; count: number }
  /** Masks matches in `bytes` in place; returns how many occurrences (overlapping matches count once). */
  scrubBytes(bytes: Uint8Array): number
  /** Masks matches in every header value, in place (`headers` must be mutable); returns how many. */
  scrubHeaders(headers: Headers): number
  /** A stream that masks matches in a body as it passes, across chunk boundaries. */
  stream(): ScrubStream
}

const EMPTY_SCRUBBER: Scrubber = Object.freeze({
  empty: true,
  patternCount: 0,
  scrubText: (text: string) => ({ text, count: 0 }),
  scrubBytes: () => 0,
  scrubHeaders: () => 0,
  stream(): ScrubStream {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
    return { readable, writable, count: () => 0 }
  },
})

// Keyed by the secrets array itself: a grant's secret list is built once per opened grant, so
// every request of that grant reuses one automaton, and it goes when the grant does.
const cache = new WeakMap<readonly string[], Scrubber>()

// And by content: many tokens carry the same credential (one API key minted into thousands of
// short-lived tokens), and building the automaton for every form of a secret costs far more than
// opening the token. Bounded, oldest first out; the automaton holds the secrets' bytes anyway.
const byContent = new Map<string, Scrubber>()
const MAX_BY_CONTENT = 256

/**
 * Compiles a scrubber for `secrets` (e.g. the `secrets(entry)` of every credential a grant
 * injects). Empty strings are ignored; an empty list gives a scrubber that changes nothing and
 * costs nothing. Compiled scrubbers are cached by the identity of the `secrets` array (treat that
 * array as immutable once passed here) and by its contents, so grants that carry the same
 * credential share one automaton.
 *
 * @example
 * ```ts
 * const scrubber = compileScrubber(['Bearer sk-test-123', 'sk-test-123'])
 * scrubber.scrubText('{"auth":"Bearer sk-test-123"}') // { text: '{"auth":"******************"}', count: 1 }
 * const body = upstream.body?.pipeThrough(scrubber.stream())
 * ```
 */
export function compileScrubber(secrets: readonly string[]): Scrubber {
  const cached = cache.get(secrets)
  if (cached !== undefined) return cached
  // JSON, not a separator join: ['a\0b'] and ['a', 'b'] must not share a scrubber.
  const key = JSON.stringify(secrets)
  let scrubber = byContent.get(key)
  if (scrubber === undefined) {
    const patterns = searchSet(secrets)
    scrubber =
      patterns.length === 0 ? EMPTY_SCRUBBER : fromAutomaton(buildAutomaton(patterns), patterns.length)
    if (byContent.size >= MAX_BY_CONTENT) byContent.delete(byContent.keys().next().value as string)
    byContent.set(key, scrubber)
  }
  cache.set(secrets, scrubber)
  return scrubber
}

function fromAutomaton(automaton: Automaton, patternCount: number): Scrubber {
  return Object.freeze({
    empty: false,
    patternCount,
    scrubText: (text: string) => scrubTextWith(automaton, text),
    scrubBytes: (bytes: Uint8Array) => scrubBytesWith(automaton, bytes),
    scrubHeaders: (headers: Headers) => scrubHeadersWith(automaton, headers),
    stream: () => scrubStreamWith(automaton),
  })
}
