import type { Automaton } from './automaton.js'
import { createOccurrenceCounter } from './occurrence-counter.js'
import { scan } from './scan.js'

/**
 * `*`: what every byte of a match becomes.
 *
 * @example
 * ```ts
 * bytes.fill(MASK_BYTE, start, end)
 * ```
 */
export const MASK_BYTE = 0x2a

/**
 * Masks every match of `automaton` in `bytes`, in place, and returns how many occurrences it
 * masked. Each matched byte becomes `*`, so the length is kept; overlapping matches (a `Basic …`
 * value and the password inside it) mask their union and count as one occurrence.
 *
 * @example
 * ```ts
 * const body = utf8('{"echo":"sk-test-123"}')
 * scrubBytesWith(automaton, body) // 1; body now reads {"echo":"***********"}
 * ```
 */
export function scrubBytesWith(automaton: Automaton, bytes: Uint8Array): number {
  const occurrences = createOccurrenceCounter(automaton.maxDepth)
  scan(automaton, bytes, 0, (end, length) => {
    occurrences.add(end - length, end)
    bytes.fill(MASK_BYTE, end - length, end)
  })
  return occurrences.count
}
