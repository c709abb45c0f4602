import type http from 'node:http'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../../test/kit/index.js'
import { createFetchForwarder, type ForwardInit } from './forward-fetch.js'

let upstream: Upstream
let origin: string
/** The headers of the last request the upstream received. */
const lastHeaders = () => upstream.received.at(-1)?.headers

beforeAll(async () => {
  upstream = await startUpstream({
    answer: (req, res) => {
      const body = Buffer.from('plain text body')
      const encoded: Record<string, [string, Buffer]> = {
        '/gzip': ['gzip', gzipSync(body)],
        '/br': ['br', brotliCompressSync(body)],
        '/deflate': ['deflate', deflateSync(body)],
        '/custom': ['x-custom', body],
      }
      const [encoding, bytes] = encoded[req.url ?? ''] ?? ['', body]
      const headers: http.OutgoingHttpHeaders = {
        'content-length': bytes.length,
        connection: 'x-hop',
        'x-hop': '1',
      }
      if (encoding) headers['content-encoding'] = encoding
      res.writeHead(200, headers)
      res.end(req.method === 'HEAD' ? undefined : bytes)
    },
  })
  origin = upstream.origin
})

afterAll(() => upstream.close())

const init = (method = 'GET', headers: Record<string, string> = {}): ForwardInit => ({
  method,
  headers,
  body: null,
  signal: new AbortController().signal,
  redirect: 'manual',
  duplex: 'half',
})

describe('createFetchForwarder', () => {
  const forward = createFetchForwarder()

  it.each(['/gzip', '/br', '/deflate'])(
    '%s: fetch decodes it, so Content-Encoding and Content-Length go',
    async (path) => {
      const res = await forward(origin + path, init('GET', { 'accept-encoding': 'gzip, br, deflate' }))
      expect(res.headers.get('content-encoding')).toBeNull()
      expect(res.headers.get('content-length')).toBeNull()
      expect(res.headers.get('x-hop')).toBeNull()
      expect(await res.text()).toBe('plain text body')
    },
  )

  it('leaves a coding fetch does not decode alone', async () => {
    const res = await forward(`${origin}/custom`, init())
    expect(res.headers.get('content-encoding')).toBe('x-custom')
    expect(res.headers.get('content-length')).toBe('15')
    expect(await res.text()).toBe('plain text body')
  })

  it('keeps the headers of a HEAD response, whose body fetch never decodes', async () => {
    const res = await forward(`${origin}/gzip`, init('HEAD'))
    expect(res.headers.get('content-encoding')).toBe('gzip')
  })

  it('asks the upstream only for codings fetch can decode', async () => {
    await (
      await forward(`${origin}/plain`, init('GET', { 'accept-encoding': 'zstd, br;q=0.9, *;q=0.1' }))
    ).text()
    expect(lastHeaders()?.['accept-encoding']).toBe('br;q=0.9')
    await (await forward(`${origin}/plain`, init('GET', { 'accept-encoding': 'zstd' }))).text()
    expect(lastHeaders()?.['accept-encoding']).toBe('identity')
  })

  it('uses the fetch it is given', async () => {
    const calls: string[] = []
    const custom = createFetchForwarder({
      fetch: (url, forwardInit) => {
        calls.push(url)
        return fetch(url, forwardInit)
      },
    })
    await (await custom(`${origin}/plain`, init())).text()
    expect(calls).toEqual([`${origin}/plain`])
  })

  it('declares what it can do: clean responses, no dialed-address check, private networks unless told', () => {
    expect(createFetchForwarder().capabilities).toEqual({
      cleanResponses: true,
      reachesPrivateNetworks: true,
    })
    expect(createFetchForwarder({ reachesPrivateNetworks: false }).capabilities?.reachesPrivateNetworks).toBe(
      false,
    )
    const onWorkers = Object.getOwnPropertyDescriptor(globalThis, 'navigator')
    Object.defineProperty(globalThis, 'navigator', {
      value: { userAgent: 'Cloudflare-Workers' },
      configurable: true,
    })
    try {
      expect(createFetchForwarder().capabilities?.reachesPrivateNetworks).toBe(false)
    } finally {
      if (onWorkers) Object.defineProperty(globalThis, 'navigator', onWorkers)
      else delete (globalThis as { navigator?: unknown }).navigator
    }
  })
})
