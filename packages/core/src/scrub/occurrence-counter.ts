/**
 * Counts the occurrences masked so far; see {@link createOccurrenceCounter}.
 *
 * @example
 * ```ts
 * const counter: OccurrenceCounter = createOccurrenceCounter(64)
 * ```
 */
export interface OccurrenceCounter {
  /** Records a match covering `start` up to `end` (exclusive, offsets in the whole body). */
  add(start: number, end: number): void
  readonly count: number
}

/**
 * Counts masked occurrences as the runs of the masks' union: overlapping matches (a `Basic …`
 * value and its password's base64 inside it) are one occurrence, adjacent ones two. Matches come
 * in order of their end, and a later one may reach back over several earlier runs and join
 * them, so the counter keeps the recent runs — only those a future match can still reach, which
 * is within `window` (the longest pattern) bytes — and merges them.
 *
 * @example
 * ```ts
 * const counter = createOccurrenceCounter(automaton.maxDepth)
 * counter.add(0, 2); counter.add(2, 3); counter.add(1, 4)
 * counter.count // 1
 * ```
 */
export function createOccurrenceCounter(window: number): OccurrenceCounter {
  const starts: number[] = []
  const ends: number[] = []
  let count = 0
  return {
    add(start, end) {
      let merged = 0
      let from = start
      while (ends.length > 0 && ends[ends.length - 1]! > start) {
        from = Math.min(from, starts.pop()!)
        ends.pop()
        merged++
      }
      count += 1 - merged
      starts.push(from)
      ends.push(end)
      // Runs that end before any future match can start will never be merged again.
      if (ends.length > 32) {
        const horizon = end - window
        let stale = 0
        while (stale < ends.length - 1 && ends[stale]! <= horizon) stale++
        starts.splice(0, stale)
        ends.splice(0, stale)
      }
    },
    get count() {
      return count
    },
  }
}
