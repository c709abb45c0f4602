// Canned upstream behaviours the engine suites drive by path: redirects, error statuses, gzip,
// hop-by-hop headers, cookies, held and gated answers, hangs, slow streams, uploads, big bodies.
// Install with `startUpstream({ routes: cannedRoutes })`.
import { gzipSync } from 'node:zlib'
import type { Route } from './upstream.js'

const BIG_CHUNK = Buffer.alloc(64 * 1024, 0x61)

/**
 * `/redirect?to=<url>` 302; `/status/<n>` that status with JSON; `/gzip`; `/hop` (hop-by-hop and
 * forged keyhole headers); `/gzip-garbage` (gzip-labelled bytes that are not gzip);
 * `/gzip-broken-later` (a gzip stream that turns invalid after its first bytes); `/cookies` (two Set-Cookie); `/no-content` 204; `/gated...` (first
 * chunk, then waits for `upstream.gate(url)`); `/held...` (nothing at all until
 * `upstream.gate(url)` opens, then `held answer`); `/hang...` (never answers); `/slow` (an
 * SSE-like stream, the second event 250 ms later); `/upload` (byte count and SHA-256 of the
 * body); `/big/<mb>` (that many MiB).
 */
export const cannedRoutes: Record<string, Route> = {
  '/redirect': (_req, res, record) => {
    const to = record.url.includes('to=') ? decodeURIComponent(record.url.split('to=')[1] as string) : '/'
    res.writeHead(302, { location: to })
    res.end('moved')
  },
  '/status/': (_req, res, record) => {
    const status = Number(record.path.slice('/status/'.length))
    res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '7', 'x-upstream': 'yes' })
    res.end(JSON.stringify({ upstream: true, status }))
  },
  '/gzip': (_req, res) => {
    const body = gzipSync(Buffer.from('compressed hello'))
    res.writeHead(200, {
      'content-encoding': 'gzip',
      'content-length': body.length,
      'content-type': 'text/plain',
    })
    res.end(body)
  },
  '/gzip-garbage': (_req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' })
    res.end('this is not gzip')
  },
  '/gzip-broken-later': (_req, res) => {
    // A valid gzip start, then bytes that break the stream after the answer's head has gone out.
    const whole = gzipSync(Buffer.alloc(256 * 1024, 0x61))
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' })
    res.write(whole.subarray(0, 64))
    setTimeout(() => res.end(Buffer.alloc(4096, 0xff)), 50)
  },
  '/hop': (_req, res) => {
    res.writeHead(200, {
      connection: 'x-up-secret, keep-alive',
      'keep-alive': 'timeout=5',
      'x-up-secret': 'hop-only',
      'proxy-authenticate': 'Basic',
      'x-kept': 'yes',
      'x-keyhole-error': 'forged_by_upstream',
    })
    res.end('hop')
  },
  '/cookies': (_req, res) => {
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly'])
    res.end('cookies')
  },
  '/no-content': (_req, res) => {
    res.writeHead(204)
    res.end()
  },
  '/gated': async (_req, res, record, upstream) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('first;')
    await upstream.gate(record.url).promise
    res.end('second')
  },
  '/held': async (_req, res, record, upstream) => {
    // Nothing is sent until the test opens the gate: the proxy is still waiting for the head.
    await upstream.gate(record.url).promise
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('held answer')
  },
  '/hang': () => {
    // Never answers.
  },
  '/slow': async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.write('data: first\n\n')
    await new Promise((resolve) => setTimeout(resolve, 250))
    res.end('data: second\n\n')
  },
  '/upload': async (_req, res, record) => {
    await record.ended
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ bytes: record.bodyLength, sha256: record.bodyHash }))
  },
  '/big/': (_req, res, record) => {
    const total = Number(record.path.slice('/big/'.length)) * 1024 * 1024
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total })
    let sent = 0
    const pump = () => {
      while (sent < total) {
        sent += BIG_CHUNK.length
        if (!res.write(BIG_CHUNK)) {
          res.once('drain', pump)
          return
        }
      }
      res.end()
    }
    pump()
  },
}
