import { createHash } from 'node:crypto'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'

/** One request as the upstream received it. */
export interface Received {
  method: string
  /** The raw request target from the request line. */
  url: string
  /** Raw header pairs, as sent on the wire. */
  rawHeaders: string[]
  headers: http.IncomingHttpHeaders
  readonly body: Buffer
  /** The body chunks as they arrived. */
  chunks: Buffer[]
  /** Set when the connection went away before the upstream finished its response. */
  aborted: boolean
}

/** A deferred the test resolves to let a waiting upstream route continue. */
export interface Gate {
  promise: Promise<void>
  open(): void
}

export function gate(): Gate {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

export interface Upstream {
  port: number
  origin: string
  received: Received[]
  /** Gates of `/gated...` requests, by request target; the test opens them. */
  gates: Map<string, Gate>
  /** Resolves when a request for `path` (the first one) has arrived. */
  arrived(path: string): Promise<Received>
  /** Resolves when the next request body chunk arrives. */
  nextChunk(): Promise<Received>
  /** Resolves when a request's connection closed before its response finished. */
  abortedOnce(): Promise<Received>
  close(): Promise<void>
}

const BIG_CHUNK = Buffer.alloc(64 * 1024, 0x61)

/**
 * A real HTTP server on 127.0.0.1 that records every request it receives and answers by path:
 * `/echo...` (default) JSON of what it got, `/redirect`, `/status/<n>`, `/gzip`, `/hop`,
 * `/cookies`, `/gated` (first chunk, then waits for the test), `/hang`, `/upload` (hash of the
 * body), `/big/<mb>`, `/no-content`.
 */
export async function startUpstream(): Promise<Upstream> {
  const received: Received[] = []
  const gates = new Map<string, Gate>()
  const arrivals = new Map<string, Gate & { value?: Received }>()
  let abortWaiters: ((r: Received) => void)[] = []
  let chunkWaiters: ((r: Received) => void)[] = []

  const arrivalFor = (path: string) => {
    let entry = arrivals.get(path)
    if (!entry) {
      entry = gate()
      arrivals.set(path, entry)
    }
    return entry
  }

  const route = async (req: IncomingMessage, res: ServerResponse, record: Received, path: string) => {
    if (path === '/redirect') {
      res.writeHead(302, {
        location: record.url.includes('to=') ? decodeURIComponent(record.url.split('to=')[1] as string) : '/',
      })
      res.end('moved')
      return
    }
    if (path.startsWith('/status/')) {
      const status = Number(path.slice('/status/'.length))
      res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '7', 'x-upstream': 'yes' })
      res.end(JSON.stringify({ upstream: true, status }))
      return
    }
    if (path === '/gzip') {
      const body = gzipSync(Buffer.from('compressed hello'))
      res.writeHead(200, {
        'content-encoding': 'gzip',
        'content-length': body.length,
        'content-type': 'text/plain',
      })
      res.end(body)
      return
    }
    if (path === '/hop') {
      res.writeHead(200, {
        connection: 'x-up-secret, keep-alive',
        'keep-alive': 'timeout=5',
        'x-up-secret': 'hop-only',
        'proxy-authenticate': 'Basic',
        'x-kept': 'yes',
        'x-keyhole-error': 'forged_by_upstream',
      })
      res.end('hop')
      return
    }
    if (path === '/cookies') {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly'])
      res.end('cookies')
      return
    }
    if (path === '/no-content') {
      res.writeHead(204)
      res.end()
      return
    }
    if (path.startsWith('/gated')) {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('first;')
      const g = gates.get(record.url) ?? gate()
      gates.set(record.url, g)
      await g.promise
      res.end('second')
      return
    }
    if (path.startsWith('/hang')) return // never answers
    if (path === '/slow') {
      // An SSE-like stream: one event now, the next one 250 ms later.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write('data: first\n\n')
      await new Promise((resolve) => setTimeout(resolve, 250))
      res.end('data: second\n\n')
      return
    }
    if (path === '/upload') {
      await new Promise<void>((resolve) => req.on('end', resolve))
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          bytes: record.body.length,
          sha256: createHash('sha256').update(record.body).digest('hex'),
        }),
      )
      return
    }
    if (path.startsWith('/big/')) {
      const total = Number(path.slice('/big/'.length)) * 1024 * 1024
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
      return
    }
    await new Promise<void>((resolve) => req.on('end', resolve))
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' })
    res.end(
      JSON.stringify({
        method: record.method,
        url: record.url,
        rawHeaders: record.rawHeaders,
        body: record.body.toString('latin1'),
      }),
    )
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    const record: Received = {
      method: req.method ?? '',
      url: req.url ?? '',
      rawHeaders: req.rawHeaders,
      headers: req.headers,
      get body() {
        return Buffer.concat(chunks)
      },
      chunks,
      aborted: false,
    }
    received.push(record)
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      const waiters = chunkWaiters
      chunkWaiters = []
      for (const w of waiters) w(record)
    })
    res.on('close', () => {
      if (!res.writableFinished) {
        record.aborted = true
        const waiters = abortWaiters
        abortWaiters = []
        for (const w of waiters) w(record)
      }
    })
    const path = (req.url ?? '/').split('?')[0] as string
    const arrival = arrivalFor(path)
    if (!arrival.value) {
      arrival.value = record
      arrival.open()
    }
    route(req, res, record, path).catch((error) => res.destroy(error))
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    received,
    gates,
    async arrived(path) {
      const entry = arrivalFor(path)
      await entry.promise
      return entry.value as Received
    },
    nextChunk() {
      return new Promise((resolve) => chunkWaiters.push(resolve))
    },
    abortedOnce() {
      return new Promise((resolve) => abortWaiters.push(resolve))
    },
    close() {
      for (const g of gates.values()) g.open()
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
