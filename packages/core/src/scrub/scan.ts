import type { Automaton } from './automaton.js'

/**
 * Runs `automaton` over `bytes` from `state` and returns the state it ends in, so a stream can go
 * on with the next chunk. Calls `onMatch(end, length)` for every position where a pattern ends:
 * the match covers `end - length` up to `end` (exclusive), and `end - length` is negative when it
 * began in earlier bytes. Masking is the caller's: `bytes` is only read.
 *
 * @example
 * ```ts
 * let state = 0
 * for (const chunk of chunks) state = scan(automaton, chunk, state, (end, length) => hits++)
 * ```
 */
export function scan(
  automaton: Automaton,
  bytes: Uint8Array,
  state: number,
  onMatch: (end: number, length: number) => void,
): number {
  const { root, pairs, edgeStart, edgeByte, edgeTarget, fail, match } = automaton
  const n = bytes.length
  let i = 0
  scanning: while (i < n) {
    if (state === 0) {
      // At the root most bytes start no pattern: skip them with a table lookup, and a byte that
      // starts some pattern but not with the byte after it with a bitmap lookup. The last byte
      // of `bytes` always enters the automaton, as the next one is not known yet.
      for (;;) {
        if (i >= n) break scanning
        const byte = bytes[i]!
        if (root[byte] !== 0) {
          if (i + 1 === n) break
          const pair = (byte << 8) | bytes[i + 1]!
          if ((pairs[pair >>> 5]! & (1 << (pair & 31))) !== 0) break
        }
        i++
      }
      state = root[bytes[i++]!]!
    } else {
      const byte = bytes[i++]!
      for (;;) {
        let next = 0
        for (let e = edgeStart[state]!, last = edgeStart[state + 1]!; e < last; e++) {
          if (edgeByte[e] === byte) {
            next = edgeTarget[e]!
            break
          }
        }
        if (next !== 0) {
          state = next
          break
        }
        state = fail[state]!
        if (state === 0) {
          state = root[byte]!
          break
        }
      }
    }
    const length = match[state]!
    if (length !== 0) onMatch(i, length)
  }
  return state
}
