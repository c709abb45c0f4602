import { KeyholeError } from '../errors.js'
import type { Automaton } from './automaton.js'
import { createOccurrenceCounter } from './occurrence-counter.js'
import { scan } from './scan.js'
import { MASK_BYTE } from './scrub-bytes.js'

/**
 * A body-scrubbing stream and the number of occurrences it has masked so far.
 *
 * @example
 * ```ts
 * const scrub: ScrubStream = scrubber.stream()
 * const body = upstream.body?.pipeThrough(scrub)
 * ```
 */
export interface ScrubStream {
  readonly readable: ReadableStream<Uint8Array>
  readonly writable: WritableStream<Uint8Array>
  /** Occurrences masked so far (overlapping matches count once); final once `readable` has closed. */
  count(): number
}

const EMPTY = new Uint8Array(0)

/**
 * A `TransformStream` that masks every match of `automaton` in the bytes going through, matches
 * split across chunks included. Between chunks it holds back only the bytes that could still
 * begin a match — the longest tail of the text that some pattern can still grow from, never
 * more than the longest pattern — and
 * passes everything before them on at once, so a chunk whose end starts no pattern is emitted
 * whole before the next one arrives (an SSE event flushes) and memory stays bounded whatever
 * the body's size. Input chunks are never written to: a chunk with a match is copied once and
 * the copy masked, a chunk without one is passed on as is.
 *
 * @example
 * ```ts
 * const scrub = scrubStreamWith(automaton)
 * const body = upstream.body.pipeThrough(scrub)
 * await new Response(body).text()
 * scrub.count() // occurrences masked
 * ```
 */
export function scrubStreamWith(automaton: Automaton): ScrubStream {
  const { hold } = automaton
  let state = 0
  const occurrences = createOccurrenceCounter(automaton.maxDepth)
  // Bytes scanned before the current chunk: matches are counted at offsets in the whole body.
  let consumed = 0
  // The last hold[state] bytes seen, our own copy (the caller's chunk may be reused).
  let held = EMPTY
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      if (!(chunk instanceof Uint8Array)) {
        throw new KeyholeError('response_not_scrubbable', 'a response body chunk is not a Uint8Array')
      }
      if (chunk.length === 0) return
      let out = chunk
      const heldBefore = held
      state = scan(automaton, chunk, state, (end, length) => {
        const start = end - length
        occurrences.add(consumed + start, consumed + end)
        // A match can start in the held bytes: at most held.length back, as `hold` bounds how far back
        // any pattern still in progress began.
        if (start < 0) heldBefore.fill(MASK_BYTE, heldBefore.length + start)
        if (out === chunk) out = chunk.slice()
        out.fill(MASK_BYTE, Math.max(start, 0), end)
      })
      consumed += chunk.length
      const keep = hold[state]!
      if (keep <= out.length) {
        if (heldBefore.length > 0) controller.enqueue(heldBefore)
        if (keep < out.length) controller.enqueue(keep === 0 ? out : out.subarray(0, out.length - keep))
        held = keep === 0 ? EMPTY : out.slice(out.length - keep)
      } else {
        // The pattern in progress began in the held bytes: keep their tail and this whole chunk.
        const fromHeld = keep - out.length
        const release = heldBefore.length - fromHeld
        const next = new Uint8Array(keep)
        next.set(heldBefore.subarray(release))
        next.set(out, fromHeld)
        if (release > 0) controller.enqueue(heldBefore.subarray(0, release))
        held = next
      }
    },
    flush(controller) {
      // What is still held is a partial match that the body ended before completing: not a secret.
      if (held.length > 0) controller.enqueue(held)
      held = EMPTY
    },
  })
  return { readable, writable, count: () => occurrences.count }
}
