import { Transform, type TransformCallback } from 'node:stream'
import { KeyholeError } from '../../errors.js'
import type { Scrubber } from '../../scrub/compile-scrubber.js'

/** The largest frame the scrubber holds in memory by default: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024

/** A frame's header: where its payload starts, how long it is, and its mask key if any. */
interface FrameHead {
  readonly headerLength: number
  readonly payloadLength: number
  readonly masked: boolean
  readonly rsv: number
}

/** Reads a frame header from the first bytes of `bytes`, or undefined when more are needed. */
function readHead(bytes: Buffer): FrameHead | undefined {
  if (bytes.length < 2) return undefined
  const first = bytes[0] as number
  const second = bytes[1] as number
  const masked = (second & 0x80) !== 0
  let payloadLength = second & 0x7f
  let headerLength = 2
  if (payloadLength === 126) {
    if (bytes.length < 4) return undefined
    payloadLength = bytes.readUInt16BE(2)
    headerLength = 4
  } else if (payloadLength === 127) {
    if (bytes.length < 10) return undefined
    // Above 2^53 it is no length a frame we could hold would have; the limit check refuses it.
    payloadLength = Number(bytes.readBigUInt64BE(2))
    headerLength = 10
  }
  if (masked) headerLength += 4
  if (bytes.length < headerLength) return undefined
  return { headerLength, payloadLength, masked, rsv: first & 0x70 }
}

function unmask(payload: Buffer, key: Buffer): void {
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (key[i & 3] as number)
}

/**
 * A stream for the upstream → client direction of a WebSocket: parses frames (RFC 6455 §5.2)
 * and masks the grant's secrets in each frame's payload in place, with `*` bytes — same length,
 * so the framing is untouched and frames go on as they came. Data frames, fragments and control
 * frames alike (a close reason or a pong can echo too). A server's frames are unmasked; a masked
 * one (a protocol error the client will refuse anyway) is unmasked, scrubbed and masked again.
 *
 * Payloads are masked in the very chunks written in (a socket's reads are its own), so a
 * caller must not write buffers it still uses. Each frame is searched on its own: a secret split across two frames (or two fragments of one
 * message) is not caught. Frames are held whole until complete, up to `maxFrameBytes`; a larger
 * frame, or one with RSV bits set (a compression extension the handshake did not negotiate,
 * whose bytes cannot be searched), fails the stream with `response_not_scrubbable`.
 *
 * @example
 * ```ts
 * pipeline(upstreamSocket, createFrameScrubber(scrubber), clientSocket, () => {})
 * ```
 */
export function createFrameScrubber(
  scrubber: Scrubber,
  maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES,
  onMasked: (count: number) => void = () => {},
): Transform {
  let chunks: Buffer[] = []
  let buffered = 0

  // Takes `length` bytes off the front of the buffered chunks, as one Buffer.
  const take = (length: number): Buffer => {
    const first = chunks[0] as Buffer
    if (first.length >= length) {
      const frame = first.subarray(0, length)
      if (first.length === length) chunks.shift()
      else chunks[0] = first.subarray(length)
      buffered -= length
      return frame
    }
    const all = Buffer.concat(chunks, buffered)
    const frame = all.subarray(0, length)
    chunks = length < all.length ? [all.subarray(length)] : []
    buffered -= length
    return frame
  }

  // The first bytes of the buffer, enough for any frame header (at most 14 bytes).
  const peek = (): Buffer => {
    const first = chunks[0] as Buffer
    if (first.length >= 14 || chunks.length === 1) return first
    const parts: Buffer[] = []
    let length = 0
    for (const chunk of chunks) {
      if (length >= 14) break
      parts.push(chunk)
      length += chunk.length
    }
    return Buffer.concat(parts, length)
  }

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      chunks.push(chunk)
      buffered += chunk.length
      while (buffered > 0) {
        const head = readHead(peek())
        if (head === undefined) break
        if (head.rsv !== 0 || head.payloadLength > maxFrameBytes) {
          callback(
            new KeyholeError(
              'response_not_scrubbable',
              head.rsv !== 0
                ? 'the upstream sent a compressed WebSocket frame, which cannot be scrubbed'
                : 'the upstream sent a WebSocket frame larger than the proxy scrubs',
            ),
          )
          return
        }
        const total = head.headerLength + head.payloadLength
        if (buffered < total) break
        const frame = take(total)
        const payload = frame.subarray(head.headerLength)
        let count: number
        if (head.masked) {
          const key = Buffer.from(frame.subarray(head.headerLength - 4, head.headerLength))
          unmask(payload, key)
          count = scrubber.scrubBytes(payload)
          unmask(payload, key)
        } else {
          count = scrubber.scrubBytes(payload)
        }
        if (count > 0) onMasked(count)
        this.push(frame)
      }
      callback()
    },
  })
}
