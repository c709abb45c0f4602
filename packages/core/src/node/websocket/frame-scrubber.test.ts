import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { compileScrubber } from '../../scrub/compile-scrubber.js'
import { createFrameScrubber } from './frame-scrubber.js'

const SECRET = 'sk-live-FRAMESECRET-0123456789'
const scrubber = compileScrubber([SECRET])

/** One frame: FIN set, `opcode`, optional 4-byte mask, 7/16/64-bit length as needed. */
function frame(payload: Buffer, opcode = 0x1, mask?: Buffer, rsv = 0): Buffer {
  const length = payload.length
  const extended = length < 126 ? 0 : length < 0x10000 ? 2 : 8
  const head = Buffer.alloc(2 + extended + (mask ? 4 : 0))
  head[0] = 0x80 | rsv | opcode
  head[1] = (mask ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127)
  if (extended === 2) head.writeUInt16BE(length, 2)
  if (extended === 8) head.writeBigUInt64BE(BigInt(length), 2)
  const body = Buffer.from(payload)
  if (mask) {
    mask.copy(head, 2 + extended)
    for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (mask[i & 3] as number)
  }
  return Buffer.concat([head, body])
}

async function run(chunks: Buffer[], maxFrameBytes?: number): Promise<{ out: Buffer; masked: number }> {
  let masked = 0
  const out: Buffer[] = []
  const stream = Readable.from(chunks).pipe(
    createFrameScrubber(scrubber, maxFrameBytes, (count) => {
      masked += count
    }),
  )
  for await (const chunk of stream) out.push(chunk as Buffer)
  return { out: Buffer.concat(out), masked }
}

/** Splits `bytes` into chunks of `size`. */
function slices(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size))
  return out
}

const stars = '*'.repeat(SECRET.length)

describe('createFrameScrubber', () => {
  it('masks a secret in a frame, keeping the framing, however the bytes are chunked', async () => {
    const frames = Buffer.concat([
      frame(Buffer.from(`a ${SECRET} b`)),
      frame(Buffer.from('ping'), 0x9),
      frame(Buffer.from(`${'x'.repeat(300)}${SECRET}`), 0x2),
      frame(Buffer.concat([Buffer.alloc(70_000, 0x62), Buffer.from(SECRET)]), 0x2),
    ])
    const expected = Buffer.concat([
      frame(Buffer.from(`a ${stars} b`)),
      frame(Buffer.from('ping'), 0x9),
      frame(Buffer.from(`${'x'.repeat(300)}${stars}`), 0x2),
      frame(Buffer.concat([Buffer.alloc(70_000, 0x62), Buffer.from(stars)]), 0x2),
    ])
    for (const size of [1, 3, 13, 1000, frames.length]) {
      // A copy each time: frames are scrubbed in place, in the chunks they came in.
      const { out, masked } = await run(slices(Buffer.from(frames), size))
      expect(Buffer.compare(out, expected)).toBe(0)
      expect(masked).toBe(3)
    }
  })

  it('scrubs a masked frame under its mask', async () => {
    const mask = Buffer.from([1, 2, 3, 4])
    const { out } = await run([frame(Buffer.from(SECRET), 0x1, mask)])
    expect(Buffer.compare(out, frame(Buffer.from(stars), 0x1, mask))).toBe(0)
  })

  it('does not catch a secret split across two frames (documented)', async () => {
    const half = SECRET.length >> 1
    const { masked } = await run([
      frame(Buffer.from(SECRET.slice(0, half))),
      frame(Buffer.from(SECRET.slice(half)), 0x0),
    ])
    expect(masked).toBe(0)
  })

  it('fails on a compressed frame and on one larger than the limit', async () => {
    await expect(run([frame(Buffer.from('x'), 0x1, undefined, 0x40)])).rejects.toMatchObject({
      code: 'response_not_scrubbable',
    })
    await expect(run([frame(Buffer.alloc(2000))], 1000)).rejects.toMatchObject({
      code: 'response_not_scrubbable',
    })
  })
})
