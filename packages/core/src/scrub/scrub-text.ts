import type { Automaton } from './automaton.js'
import { scrubBytesWith } from './scrub-bytes.js'
import { utf8 } from './utf8.js'

const decoder = new TextDecoder()

/**
 * Masks every match in `text`, searched as UTF-8. A match becomes as many `*` as it had UTF-8
 * bytes (a secret with `é` in it gives one `*` more than it has characters). Text without a
 * match is returned as it was, not re-decoded.
 *
 * @example
 * ```ts
 * scrubTextWith(automaton, 'token=sk-test-123') // { text: 'token=***********', count: 1 }
 * ```
 */
export function scrubTextWith(automaton: Automaton, text: string): { text: string; count: number } {
  const bytes = utf8(text)
  const count = scrubBytesWith(automaton, bytes)
  return { text: count === 0 ? text : decoder.decode(bytes), count }
}
