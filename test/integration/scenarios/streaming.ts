import { createHash, randomBytes } from 'node:crypto'
import type { ClientRequest } from 'node:http'
import { PassThrough, Readable } from 'node:stream'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { expect, test } from 'vitest'
import { hits, mintToken, type Suite, send, via } from '../harness/fixtures.js'
import { streamRequest } from '../harness/http.js'
import { secret } from '../harness/leaks.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const MB = 1024 * 1024
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Live JS memory (heap + array buffers) after a full collection, and RSS. */
function settledMemory() {
  gc()
  gc()
  const m = process.memoryUsage()
  return { live: m.heapUsed + m.arrayBuffers, rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers }
}

const mib = (bytes: number) => `${bytes < 0 ? '-' : '+'}${(Math.abs(bytes) / MB).toFixed(1)} MiB`

/** Measurements printed at the end of the suite and quoted in the report. */
export const measurements: string[] = []

/** Bodies: uploads, downloads, server-sent events, client aborts. */
export function streamingScenarios(s: Suite): void {
  const grantFor = async (label: string) =>
    mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret(`Bearer sk-live-${label}`) }],
    })

  test('a 5 MB upload arrives byte-identical (with Content-Length and chunked)', async () => {
    const token = await grantFor('upload')
    const body = randomBytes(5 * MB)
    const digest = createHash('sha256').update(body).digest('hex')

    const sized = await send(via(s.app, s.up, '/upload/sized'), {
      method: 'POST',
      headers: { 'x-keyhole-token': token, 'content-type': 'application/octet-stream' },
      body,
    })
    expect(sized.status).toBe(200)
    expect(sized.json()).toMatchObject({ bodyLength: body.length, bodyHash: digest })

    // Streamed in odd-sized pieces without a length: Transfer-Encoding: chunked end to end.
    const pieces = function* () {
      for (let offset = 0; offset < body.length; offset += 100_003)
        yield body.subarray(offset, offset + 100_003)
    }
    const chunked = await send(via(s.app, s.up, '/upload/chunked'), {
      method: 'PUT',
      headers: { 'x-keyhole-token': token, 'content-type': 'application/octet-stream' },
      body: Readable.from(pieces()),
    })
    expect(chunked.status).toBe(200)
    expect(chunked.json()).toMatchObject({ bodyLength: body.length, bodyHash: digest })
    const [a, b] = [hits(s.up, '/upload/sized')[0]!, hits(s.up, '/upload/chunked')[0]!]
    expect(a.headers['content-length']).toBe(String(body.length))
    expect(b.headers['transfer-encoding']).toBe('chunked')
  })

  test('a 20 MB download streams with bounded proxy memory (backpressure reaches the upstream)', async () => {
    const token = await grantFor('download')
    const total = 20 * MB
    const block = 64 * 1024
    const seed = randomBytes(block)
    const chunkAt = (index: number) => {
      const chunk = Buffer.from(seed)
      chunk.writeUInt32BE(index, 0)
      return chunk
    }
    const expected = createHash('sha256')
    for (let i = 0; i < total / block; i++) expected.update(chunkAt(i))
    const expectedDigest = expected.digest('hex')

    let upstreamSent = 0
    s.up.route('/download', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total })
      let index = 0
      const pump = () => {
        while (index < total / block) {
          const chunk = chunkAt(index++)
          upstreamSent += chunk.length
          if (!res.write(chunk)) {
            res.once('drain', pump)
            return
          }
        }
        res.end()
      }
      pump()
    })

    const baseline = settledMemory()
    const response = await streamRequest(via(s.app, s.up, '/download'), {
      headers: { 'x-keyhole-token': token },
    })
    expect(response.statusCode).toBe(200)
    response.pause()
    // Let the pipe fill up while the client reads nothing, until the upstream cannot write more.
    let last = -1
    for (let i = 0; i < 100 && upstreamSent !== last; i++) {
      last = upstreamSent
      await sleep(100)
    }
    const paused = settledMemory()
    const sentWhilePaused = upstreamSent

    const hash = createHash('sha256')
    let received = 0
    let peakRss = baseline.rss
    let peakLive = baseline.live
    let nextSample = 0
    response.on('data', (chunk: Buffer) => {
      hash.update(chunk)
      received += chunk.length
      if (received >= nextSample) {
        nextSample += MB
        const m = process.memoryUsage()
        peakRss = Math.max(peakRss, m.rss)
        peakLive = Math.max(peakLive, m.heapUsed + m.arrayBuffers)
      }
    })
    response.resume()
    await new Promise((resolve, reject) => {
      response.on('end', resolve)
      response.on('error', reject)
    })
    const after = settledMemory()

    expect(received).toBe(total)
    expect(hash.digest('hex')).toBe(expectedDigest)
    const line =
      `[${s.adapter.name}] 20 MiB download (proxy, upstream and client share this process): the upstream had` +
      ` written ${mib(sentWhilePaused).slice(1)} when it stalled on a client that read nothing (the rest of that is in` +
      ` kernel socket buffers); live JS memory after GC while stalled ${mib(paused.live - baseline.live)};` +
      ` while flowing, peak heap+ArrayBuffers without GC ${mib(peakLive - baseline.live)} (uncollected garbage` +
      ` of all three), peak RSS ${mib(peakRss - baseline.rss)}; afterwards live ${mib(after.live - baseline.live)},` +
      ` RSS ${mib(after.rss - baseline.rss)}; sha256 identical`
    measurements.push(line)
    console.log(line)
    // The client's process also hosts the proxy and the upstream, so this is an upper bound for
    // the proxy: far below the 20 MiB it would hold if it buffered the body.
    expect(paused.live - baseline.live).toBeLessThan(8 * MB)
    expect(sentWhilePaused).toBeLessThan(total)
  })

  test('SSE: the first event reaches the client before the upstream has finished', async () => {
    const token = await grantFor('sse')
    const t0 = performance.now()
    const times: Record<string, number> = {}
    let clientGotFirst!: () => void
    const gotFirst = new Promise<void>((resolve) => {
      clientGotFirst = resolve
    })
    let endedBy = ''
    s.up.route('/sse', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write('event: first\ndata: {"n":1}\n\n')
      times.upstreamFirstSent = performance.now() - t0
      // The second event and the end wait until the client has the first one (or 5 s pass):
      // a proxy that buffered the stream would only deliver it after the end.
      const timer = setTimeout(() => finish('timeout'), 5000)
      gotFirst.then(() => finish('client'))
      let done = false
      function finish(by: string) {
        if (done) return
        done = true
        clearTimeout(timer)
        endedBy = by
        setTimeout(() => {
          res.write('event: second\ndata: {"n":2}\n\n')
          times.upstreamSecondSent = performance.now() - t0
          setTimeout(() => {
            res.end()
            times.upstreamEnded = performance.now() - t0
          }, 50)
        }, 50)
      }
    })
    const response = await streamRequest(via(s.app, s.up, '/sse'), {
      headers: { 'x-keyhole-token': token, accept: 'text/event-stream' },
    })
    times.clientHeaders = performance.now() - t0
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('text/event-stream')
    let text = ''
    response.setEncoding('utf8')
    response.on('data', (chunk: string) => {
      text += chunk
      if (times.clientFirst === undefined && text.includes('data: {"n":1}\n\n')) {
        times.clientFirst = performance.now() - t0
        clientGotFirst()
      }
      if (times.clientSecond === undefined && text.includes('data: {"n":2}\n\n')) {
        times.clientSecond = performance.now() - t0
      }
    })
    await new Promise((resolve) => response.on('end', resolve))
    times.clientEnd = performance.now() - t0

    expect(endedBy).toBe('client')
    expect(times.clientFirst).toBeDefined()
    expect(times.clientFirst!).toBeLessThan(times.upstreamSecondSent!)
    expect(times.clientFirst!).toBeLessThan(times.upstreamEnded!)
    expect(text).toBe('event: first\ndata: {"n":1}\n\nevent: second\ndata: {"n":2}\n\n')
    const f = (n: number | undefined) => `${(n ?? Number.NaN).toFixed(1)} ms`
    const line =
      `[${s.adapter.name}] SSE: upstream sent event 1 at ${f(times.upstreamFirstSent)}, client had headers at` +
      ` ${f(times.clientHeaders)} and event 1 at ${f(times.clientFirst)}; upstream sent event 2 at` +
      ` ${f(times.upstreamSecondSent)} and ended at ${f(times.upstreamEnded)}; client had event 2 at` +
      ` ${f(times.clientSecond)}, end at ${f(times.clientEnd)}`
    measurements.push(line)
    console.log(line)
  })

  test('a client abort reaches the upstream (mid-response, before the response headers, mid-upload)', async () => {
    const token = await grantFor('abort')
    s.up.route('/abort/body', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('first part\n')
      // ...and never finishes.
    })
    const aborted = s.up.nextAbort()
    const response = await streamRequest(via(s.app, s.up, '/abort/body'), {
      headers: { 'x-keyhole-token': token },
    })
    await new Promise((resolve) => response.once('data', resolve))
    response.destroy()
    const record = await aborted
    expect(record.url).toBe('/abort/body')

    s.up.route('/abort/headers', () => {
      // Never answers.
    })
    const abortedEarly = s.up.nextAbort()
    const controller = new AbortController()
    const pending = streamRequest(via(s.app, s.up, '/abort/headers'), {
      headers: { 'x-keyhole-token': token },
      signal: controller.signal,
    }).catch((error: Error) => error)
    for (let i = 0; i < 100 && hits(s.up, '/abort/headers').length === 0; i++) await sleep(20)
    expect(hits(s.up, '/abort/headers')).toHaveLength(1)
    controller.abort()
    expect(await pending).toBeInstanceOf(Error)
    const early = await abortedEarly
    expect(early.url).toBe('/abort/headers')

    // Mid-upload: the upstream has part of the body when the client disappears.
    let received = 0
    s.up.route('/abort/upload', (req) => {
      req.on('data', (chunk: Buffer) => {
        received += chunk.length
      })
    })
    const abortedUpload = s.up.nextAbort()
    const upload = new PassThrough()
    let clientRequest: ClientRequest | undefined
    const uploading = streamRequest(via(s.app, s.up, '/abort/upload'), {
      method: 'POST',
      headers: { 'x-keyhole-token': token, 'content-type': 'application/octet-stream' },
      body: upload,
      onRequest: (r) => {
        clientRequest = r
      },
    }).catch((error: Error) => error)
    upload.write(Buffer.alloc(256 * 1024, 1))
    for (let i = 0; i < 100 && received === 0; i++) await sleep(20)
    expect(received).toBeGreaterThan(0)
    clientRequest!.destroy()
    expect(await uploading).toBeInstanceOf(Error)
    const gone = await abortedUpload
    expect(gone.url).toBe('/abort/upload')
    expect(received).toBeLessThanOrEqual(256 * 1024)
  })
}
