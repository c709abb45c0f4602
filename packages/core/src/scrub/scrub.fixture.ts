// Test helpers for the scrubber: a naive oracle, stream plumbing, byte/string conversions.
import { MASK_BYTE } from './scrub-bytes.js'

export const enc = new TextEncoder()
export const dec = new TextDecoder()

/** One char per byte, so `indexOf` finds byte strings. */
export function latin1(bytes: Uint8Array): string {
  let text = ''
  for (const byte of bytes) text += String.fromCharCode(byte)
  return text
}

/**
 * The oracle: `bytes` with every occurrence of every pattern (overlaps included) masked, found
 * by `indexOf` at every position; `occurrences` counts the union's runs (overlapping matches
 * merge, adjacent ones do not).
 */
export function naiveMask(
  bytes: Uint8Array,
  patterns: readonly Uint8Array[],
): { masked: Uint8Array; occurrences: number } {
  const text = latin1(bytes)
  const masked = bytes.slice()
  const intervals: [number, number][] = []
  for (const pattern of patterns) {
    const needle = latin1(pattern)
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
      masked.fill(MASK_BYTE, at, at + needle.length)
      intervals.push([at, at + needle.length])
    }
  }
  intervals.sort((a, b) => a[0] - b[0])
  let occurrences = 0
  let until = -1
  for (const [start, end] of intervals) {
    if (start >= until) occurrences++
    until = Math.max(until, end)
  }
  return { masked, occurrences }
}

/** Length of the longest tail of `bytes` that is a proper prefix of some pattern. */
export function naiveHold(bytes: Uint8Array, patterns: readonly Uint8Array[]): number {
  const text = latin1(bytes)
  let best = 0
  for (const pattern of patterns) {
    const needle = latin1(pattern)
    for (let length = Math.min(needle.length - 1, text.length); length > best; length--) {
      if (text.endsWith(needle.slice(0, length))) {
        best = length
        break
      }
    }
  }
  return best
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0))
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

/** `bytes` cut at `cuts` (any numbers; taken modulo the length, sorted, deduplicated). */
export function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => (bytes.length === 0 ? 0 : cut % (bytes.length + 1))))].sort(
    (a, b) => a - b,
  )
  const chunks: Uint8Array[] = []
  let from = 0
  for (const point of [...points, bytes.length]) {
    if (point > from) chunks.push(bytes.slice(from, point))
    from = Math.max(from, point)
  }
  return chunks
}

/** Pushes `chunks` through `pair` and returns everything it emitted. */
export async function pipe(
  chunks: readonly Uint8Array[],
  pair: ReadableWritablePair<Uint8Array, Uint8Array>,
): Promise<Uint8Array> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    },
  })
  const out: Uint8Array[] = []
  const reader = source.pipeThrough(pair).getReader()
  for (let next = await reader.read(); !next.done; next = await reader.read()) out.push(next.value)
  return concat(out)
}
