import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** One request as the upstream saw it. `url` is the raw request target, byte for byte. */
export interface RecordedRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  /** rawHeaders as received: names in their original case, in order. */
  rawHeaders: string[]
  /** The body; for large uploads only its hash is kept (see `bodyHash`). */
  body: Buffer
  bodyHash: string
  bodyLength: number
  /** True once the client side of this request went away before the response finished. */
  aborted: boolean
}

/**
 * A route handler on the test upstream. Return `true` when it answered the request itself;
 * anything else falls back to the default echo answer.
 */
export type UpstreamRoute = (req: IncomingMessage, res: ServerResponse, record: RecordedRequest) => unknown

/** A node:http upstream on 127.0.0.1 that records every request it receives. */
export interface Upstream {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string
  /** `127.0.0.1:PORT` */
  readonly authority: string
  readonly port: number
  readonly requests: RecordedRequest[]
  /**
   * Resolves with the next recorded request whose client went away (for abort tests); rejects
   * after `timeoutMs` (default 5 s) so a proxy that never aborts fails the test quickly.
   */
  nextAbort(timeoutMs?: number): Promise<RecordedRequest>
  /** Requests whose url path starts with `prefix` are answered by `route`. */
  route(prefix: string, route: UpstreamRoute): void
  close(): Promise<void>
}

// Upload bodies above this size are hashed but not kept, so the 5 MB test does not hold two copies.
const KEEP_BODY_BYTES = 1 << 20

/**
 * Starts a recording upstream. By default it answers 200 with a JSON echo of what it received
 * (method, url, headers, body length), which lets tests compare both sides.
 *
 * Routes: `route('/sse', handler)` etc. are matched on the url path prefix, longest first.
 */
export async function startUpstream(): Promise<Upstream> {
  const requests: RecordedRequest[] = []
  const routes: Array<[string, UpstreamRoute]> = []
  const abortWaiters: Array<(r: RecordedRequest) => void> = []
  const sockets = new Set<Socket>()

  const server = createServer((req, res) => {
    const record: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
      bodyHash: '',
      bodyLength: 0,
      aborted: false,
    }
    requests.push(record)
    res.on('close', () => {
      if (!res.writableFinished) {
        record.aborted = true
        for (const waiter of abortWaiters.splice(0)) waiter(record)
      }
    })
    const path = record.url.split('?', 1)[0] ?? ''
    const match = routes.find(([prefix]) => path.startsWith(prefix))
    if (match) {
      // Routes may stream or hang; they read the body themselves when they need it.
      match[1](req, res, record)
      return
    }
    collectBody(req, record).then(
      () => {
        const echo = JSON.stringify({
          method: record.method,
          url: record.url,
          headers: record.headers,
          bodyLength: record.bodyLength,
          bodyHash: record.bodyHash,
        })
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' })
        res.end(echo)
      },
      () => res.destroy(),
    )
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    origin: `http://127.0.0.1:${port}`,
    authority: `127.0.0.1:${port}`,
    port,
    requests,
    nextAbort: (timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no aborted upstream request within ${timeoutMs} ms`)),
          timeoutMs,
        )
        abortWaiters.push((record) => {
          clearTimeout(timer)
          resolve(record)
        })
      }),
    route(prefix, route) {
      routes.push([prefix, route])
      routes.sort((a, b) => b[0].length - a[0].length)
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Reads a request body into `record` (hash always, bytes up to 1 MiB). */
export function collectBody(req: IncomingMessage, record: RecordedRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    const kept: Buffer[] = []
    let length = 0
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk)
      length += chunk.length
      if (length <= KEEP_BODY_BYTES) kept.push(chunk)
    })
    req.on('end', () => {
      record.bodyHash = hash.digest('hex')
      record.bodyLength = length
      record.body = length <= KEEP_BODY_BYTES ? Buffer.concat(kept) : Buffer.alloc(0)
      resolve()
    })
    req.on('error', reject)
  })
}
