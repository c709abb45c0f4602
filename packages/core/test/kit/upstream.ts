// The recording upstream every suite sends its proxied requests to: a real HTTP (or HTTPS) server
// on loopback that keeps what arrived — method, raw target, headers as sent, body — so a test
// asserts on what the upstream really received, not on what the proxy says it sent.
import { createHash } from 'node:crypto'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'

/** One request as the upstream received it. */
export interface Recorded {
  method: string
  /** The raw request target from the request line, byte for byte. */
  url: string
  /** `url` without its query. */
  path: string
  headers: http.IncomingHttpHeaders
  /** Raw header pairs as received (names in their original case, repeats kept, in order). */
  rawHeaders: string[]
  /** The body chunks as they arrived (the body so far while it is still streaming). */
  chunks: Buffer[]
  /** The body (so far). */
  readonly body: Buffer
  /** Bytes received so far. */
  bodyLength: number
  /** SHA-256 (hex) of the whole body; empty until the body has ended. */
  bodyHash: string
  /** Resolves when the body has ended (never rejects). */
  ended: Promise<void>
  /** Set when the client went away before the upstream finished its response. */
  aborted: boolean
  /** The TLS server name the client sent (HTTPS upstreams only). */
  servername?: string | false
}

/** A deferred a test opens to let a waiting route continue. */
export interface Gate {
  promise: Promise<void>
  open(): void
}

/** A new, closed {@link Gate}. */
export function gate(): Gate {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/**
 * Answers a request. It is called as soon as the request line and headers arrive (await
 * `record.ended` for the body). Returning `false` hands the request to the default answer.
 */
export type Route = (
  req: IncomingMessage,
  res: ServerResponse,
  record: Recorded,
  upstream: Upstream,
) => unknown

/** The answer for requests no route took; called after the body has ended. */
export type Answer = (req: IncomingMessage, res: ServerResponse, record: Recorded) => void

export interface UpstreamOptions {
  /** A label (the adversarial suites tell upstreams apart by it). Default `upstream`. */
  name?: string
  /** Address to bind. Default `127.0.0.1`. */
  host?: string
  /** Port to bind. Default `0` (a free one). */
  port?: number
  /** Serve HTTPS with this key and certificate (see `localhostTls` in kit/tls.ts). */
  tls?: { key: string | Buffer; cert: string | Buffer }
  /** Routes by path prefix (longest first); more can be added with {@link Upstream.route}. */
  routes?: Record<string, Route>
  /** The default answer. Default {@link echoAnswer}. */
  answer?: Answer
  /** Record into this list too (to share one log between upstreams); `received` is then this list. */
  received?: { push(record: Recorded): unknown }
  /** Largest request head accepted. Default 64 KiB, so header-size tests reach the proxy's limits first. */
  maxHeaderSize?: number
}

/** A running recording upstream. */
export interface Upstream {
  readonly name: string
  readonly host: string
  readonly port: number
  /** `http://127.0.0.1:<port>` (`https:` with `tls`; IPv6 hosts in brackets). */
  readonly origin: string
  /** `127.0.0.1:<port>`, as it appears in an open-mode proxy path. */
  readonly authority: string
  /** Every request received, in arrival order. */
  readonly received: Recorded[]
  /** Answers requests whose path starts with `prefix` with `route` (longest prefix wins). */
  route(prefix: string, route: Route): void
  /** The gate named `key` (created closed on first use); {@link Upstream.close} opens them all. */
  gate(key: string): Gate
  /** Resolves with the first request whose path is `path` (already arrived or still to come). */
  arrived(path: string): Promise<Recorded>
  /** Resolves with the request whose next body chunk arrives. */
  nextChunk(): Promise<Recorded>
  /**
   * Resolves with the next request whose client went away before the response finished; rejects
   * after `timeoutMs` (default 5 s) so a proxy that never aborts fails the test quickly.
   */
  nextAbort(timeoutMs?: number): Promise<Recorded>
  /** The node server, for suites that also take upgrades or count connections on it. */
  readonly server: http.Server | https.Server
  /** Closes the server, its connections and its gates. */
  close(): Promise<void>
}

/**
 * The default answer: 200 JSON `{ method, url, bodyLength, bodyHash }`, `x-upstream: yes`. It never
 * reflects header values or the body, so an injected credential does not come back through the
 * proxy (and response scrubbing has nothing to count) unless a suite asks for {@link reflectAnswer}.
 */
export const echoAnswer: Answer = (_req, res, record) => {
  const { method, url, bodyLength, bodyHash } = record
  res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' })
  res.end(JSON.stringify({ method, url, bodyLength, bodyHash }))
}

/** {@link echoAnswer} plus the headers, raw header pairs and body (latin1) it received: for scrubbing tests. */
export const reflectAnswer: Answer = (_req, res, record) => {
  const { method, url, headers, rawHeaders, bodyLength, bodyHash } = record
  const body = record.body.toString('latin1')
  res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' })
  res.end(JSON.stringify({ method, url, headers, rawHeaders, body, bodyLength, bodyHash }))
}

/**
 * An answer of 200 `application/json` with what `view` makes of the request as received (its body
 * has ended by then): for suites that echo a few fields back, such as the URL and one header.
 */
export function jsonAnswer(view: (record: Recorded) => unknown): Answer {
  return (_req, res, record) => {
    // With its length, as most APIs answer: the engine's small-body path (bytes, not a stream).
    const body = JSON.stringify(view(record))
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }
}

function newRecord(req: IncomingMessage): Recorded {
  const chunks: Buffer[] = []
  const hash = createHash('sha256')
  const record: Recorded = {
    method: req.method ?? '',
    url: req.url ?? '',
    path: (req.url ?? '').split('?', 1)[0] ?? '',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    chunks,
    get body() {
      return Buffer.concat(chunks)
    },
    bodyLength: 0,
    bodyHash: '',
    ended: new Promise<void>((resolve) => {
      req.on('end', () => {
        record.bodyHash = hash.digest('hex')
        resolve()
      })
      // A client that goes away mid-body ends the record too, so nobody waits forever.
      req.on('close', () => resolve())
      req.on('error', () => resolve())
    }),
    aborted: false,
  }
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    hash.update(chunk)
    record.bodyLength += chunk.length
  })
  const servername = (req.socket as Partial<TLSSocket>).servername
  if (servername !== undefined && servername !== null) record.servername = servername
  return record
}

/** Starts a recording upstream on 127.0.0.1 (or `options.host`). */
export async function startUpstream(options: UpstreamOptions = {}): Promise<Upstream> {
  const received = (options.received ?? []) as Recorded[]
  const routes: [string, Route][] = []
  const gates = new Map<string, Gate>()
  const firsts = new Map<string, Gate & { value?: Recorded }>()
  const sockets = new Set<Socket>()
  let chunkWaiters: ((r: Recorded) => void)[] = []
  let abortWaiters: ((r: Recorded) => void)[] = []
  const answer = options.answer ?? echoAnswer
  const host = options.host ?? '127.0.0.1'

  const firstFor = (path: string) => {
    let entry = firsts.get(path)
    if (!entry) {
      entry = gate()
      firsts.set(path, entry)
    }
    return entry
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const record = newRecord(req)
    received.push(record)
    req.on('data', () => {
      const waiters = chunkWaiters
      chunkWaiters = []
      for (const waiter of waiters) waiter(record)
    })
    res.on('close', () => {
      if (res.writableFinished) return
      record.aborted = true
      const waiters = abortWaiters
      abortWaiters = []
      for (const waiter of waiters) waiter(record)
    })
    const first = firstFor(record.path)
    if (!first.value) {
      first.value = record
      first.open()
    }
    const route = routes.find(([prefix]) => record.path.startsWith(prefix))?.[1]
    const fallBack = () => record.ended.then(() => answer(req, res, record))
    Promise.resolve(route ? route(req, res, record, upstream) : false)
      .then((taken) => (taken === false ? fallBack() : undefined))
      .catch(() => res.destroy())
  }

  const serverOptions = { maxHeaderSize: options.maxHeaderSize ?? 64 * 1024 }
  const server = options.tls
    ? https.createServer({ ...serverOptions, ...options.tls }, handle)
    : http.createServer(serverOptions, handle)
  server.keepAliveTimeout = 60_000
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('clientError', (_error, socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`

  const upstream: Upstream = {
    name: options.name ?? 'upstream',
    host,
    port,
    origin: `${options.tls ? 'https' : 'http'}://${authority}`,
    authority,
    received,
    server,
    route(prefix, route) {
      routes.push([prefix, route])
      routes.sort((a, b) => b[0].length - a[0].length)
    },
    gate(key) {
      let entry = gates.get(key)
      if (!entry) {
        entry = gate()
        gates.set(key, entry)
      }
      return entry
    },
    async arrived(path) {
      const entry = firstFor(path)
      await entry.promise
      return entry.value as Recorded
    },
    nextChunk: () => new Promise((resolve) => chunkWaiters.push(resolve)),
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const entry of gates.values()) entry.open()
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
  for (const [prefix, route] of Object.entries(options.routes ?? {})) upstream.route(prefix, route)
  return upstream
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
