import { describe, expect, it } from 'vitest'
import { compileScrubber } from './compile-scrubber.js'
import { enc } from './scrub.fixture.js'

const TOTAL = 100 * 1024 * 1024
const CHUNK = 64 * 1024
const SECRET = 'sk-live-9f8e7d6c5b4a39281706'

describe('Scrubber.stream on a 100 MB body', () => {
  it('masks secrets across chunk boundaries with bounded memory', async () => {
    const scrubber = compileScrubber([SECRET, `Bearer ${SECRET}`, 'hunter2-password'])
    // A 1 MiB pool of text that starts no form, read at shifting offsets so chunks vary; every
    // 16th chunk ends in the first half of the secret and the next starts with the rest.
    const pool = enc.encode('lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(19_000))
    const head = enc.encode(SECRET.slice(0, 11))
    const tail = enc.encode(SECRET.slice(11))
    let produced = 0
    let index = 0
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (produced >= TOTAL) return controller.close()
        const offset = (index * 7919) % (pool.length - CHUNK)
        let chunk = pool.subarray(offset, offset + CHUNK)
        if (index % 16 === 15) {
          chunk = chunk.slice()
          chunk.set(head, CHUNK - head.length)
        } else if (index % 16 === 0 && index > 0) {
          chunk = chunk.slice()
          chunk.set(tail, 0)
        }
        index++
        produced += chunk.length
        controller.enqueue(chunk)
      },
    })
    const stream = scrubber.stream()
    const before = process.memoryUsage()
    let peakHeap = before.heapUsed
    let peakBuffers = before.arrayBuffers
    let received = 0
    let reads = 0
    const reader = source.pipeThrough(stream).getReader()
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      received += next.value.length
      if (++reads % 64 === 0) {
        const now = process.memoryUsage()
        peakHeap = Math.max(peakHeap, now.heapUsed)
        peakBuffers = Math.max(peakBuffers, now.arrayBuffers)
      }
    }
    expect(received).toBe(produced)
    expect(stream.count()).toBe(Math.floor((index - 1) / 16))
    // A memory bound, not a timing assertion: the body is 100 MB, growth stays far below it.
    expect(peakHeap - before.heapUsed).toBeLessThan(64 * 1024 * 1024)
    expect(peakBuffers - before.arrayBuffers).toBeLessThan(64 * 1024 * 1024)
  })
})
