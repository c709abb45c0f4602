import { Duplex } from 'node:stream'
import { brotliCompressSync, createBrotliDecompress, deflateSync, gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { compileScrubber } from './compile-scrubber.js'
import { decodeForScrubbing } from './decode-for-scrubbing.js'

const SECRET = 'sk-test-123'
const BODY = `{"echo":{"authorization":"Bearer ${SECRET}"},"pad":"${'x'.repeat(5000)}"}`

function encoded(coding: string, body: Uint8Array): Response {
  return new Response(new Uint8Array(body), {
    status: 200,
    headers: { 'content-encoding': coding, 'content-length': String(body.length), 'x-kept': '1' },
  })
}

async function scrubbed(response: Response | 'unscrubbable'): Promise<string> {
  if (response === 'unscrubbable') throw new Error('unscrubbable')
  expect(response.headers.get('content-encoding')).toBeNull()
  expect(response.headers.get('content-length')).toBeNull()
  expect(response.headers.get('x-kept')).toBe('1')
  return new Response(response.body?.pipeThrough(compileScrubber([SECRET]).stream())).text()
}

const brotli = () =>
  Duplex.toWeb(createBrotliDecompress()) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>

describe('decodeForScrubbing', () => {
  it('decodes gzip, x-gzip and deflate so the secret is masked', async () => {
    for (const [coding, body] of [
      ['gzip', gzipSync(BODY)],
      ['x-gzip', gzipSync(BODY)],
      ['deflate', deflateSync(BODY)],
      ['GZIP', gzipSync(BODY)],
    ] as const) {
      const text = await scrubbed(decodeForScrubbing(encoded(coding, body)))
      expect(text).not.toContain(SECRET)
      expect(text).toContain('"Bearer ***********"')
      expect(text.length).toBe(BODY.length)
    }
  })

  it('undoes stacked codings in reverse order', async () => {
    const text = await scrubbed(decodeForScrubbing(encoded('deflate, gzip', gzipSync(deflateSync(BODY)))))
    expect(text).toContain('"Bearer ***********"')
  })

  it('decodes br through a supplied decoder, and says unscrubbable without one where the runtime lacks it', async () => {
    const body = brotliCompressSync(BODY)
    const text = await scrubbed(decodeForScrubbing(encoded('br', body), { br: brotli }))
    expect(text).toContain('"Bearer ***********"')
    let native = true
    try {
      new DecompressionStream('br' as CompressionFormat)
    } catch {
      native = false
    }
    const result = decodeForScrubbing(encoded('br', body))
    if (native) expect(result).toBeInstanceOf(Response)
    else expect(result).toBe('unscrubbable')
  })

  it('passes identity, absent codings and bodiless responses through', () => {
    const plain = new Response('hi')
    expect(decodeForScrubbing(plain)).toBe(plain)
    const identity = encoded('identity', new TextEncoder().encode('hi'))
    expect(decodeForScrubbing(identity)).toBe(identity)
    const head = new Response(null, { status: 204, headers: { 'content-encoding': 'zstd' } })
    expect(decodeForScrubbing(head)).toBe(head)
  })

  it('says unscrubbable for codings it cannot decode', () => {
    for (const coding of ['zstd', 'compress', 'gzip, zstd', 'x-custom']) {
      expect(decodeForScrubbing(encoded(coding, new Uint8Array([1, 2, 3])))).toBe('unscrubbable')
    }
  })
})
