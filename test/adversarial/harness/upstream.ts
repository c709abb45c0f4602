import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** One request as an upstream received it, raw. */
export interface Hit {
  method: string
  /** The request target exactly as it appeared on the request line. */
  url: string
  /** Raw header pairs as received (names in their original case, repeats kept). */
  rawHeaders: string[]
  body: Buffer
}

/** A route: answers the request itself and returns true, or returns false for the default echo. */
export type Route = (req: IncomingMessage, res: ServerResponse, hit: Hit) => boolean | Promise<boolean>

/** A real HTTP server that records every request, for "where did the credential go" assertions. */
export interface Recorder {
  readonly name: string
  readonly host: string
  readonly port: number
  /** `http://host:port` (IPv6 in brackets). */
  readonly origin: string
  readonly hits: Hit[]
  /** The whole request (request line, headers, body) of every hit, as text. */
  texts(): string[]
  /** Hits whose request line, headers or body contain `value`. */
  carrying(value: string): Hit[]
  /** Answers requests whose path starts with `prefix` with `route`. */
  route(prefix: string, route: Route): void
  close(): Promise<void>
}

export interface RecorderOptions {
  name: string
  /** Address to bind. Default `127.0.0.1`. */
  host?: string
  /** Port to bind. Default `0` (a free one). */
  port?: number
}

export function hitText(hit: Hit): string {
  const lines = [`${hit.method} ${hit.url}`]
  for (let i = 0; i < hit.rawHeaders.length; i += 2)
    lines.push(`${hit.rawHeaders[i]}: ${hit.rawHeaders[i + 1]}`)
  return `${lines.join('\n')}\n\n${hit.body.toString('latin1')}`
}

/** Starts a recording upstream. The default answer is 200 with a JSON echo of method and target. */
export async function startRecorder(options: RecorderOptions): Promise<Recorder> {
  const hits: Hit[] = []
  const routes: [string, Route][] = []
  const sockets = new Set<Socket>()
  const host = options.host ?? '127.0.0.1'

  const server = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    const chunks: Buffer[] = []
    const hit: Hit = {
      method: req.method ?? '',
      url: req.url ?? '',
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
    }
    hits.push(hit)
    const path = hit.url.split('?')[0] ?? ''
    const route = routes
      .filter(([prefix]) => path.startsWith(prefix))
      .sort((a, b) => b[0].length - a[0].length)[0]
    // Routes that stream or hang answer before the body ends; everyone else reads it first.
    if (route?.[0].startsWith('/live')) {
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        hit.body = Buffer.concat(chunks)
      })
      Promise.resolve(route[1](req, res, hit)).catch(() => res.destroy())
      return
    }
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('error', () => {})
    req.on('end', async () => {
      hit.body = Buffer.concat(chunks)
      try {
        if (route && (await route[1](req, res, hit))) return
      } catch {
        res.destroy()
        return
      }
      const body = JSON.stringify({ upstream: options.name, method: hit.method, url: hit.url })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('clientError', (_err, socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  return {
    name: options.name,
    host,
    port,
    origin,
    hits,
    texts: () => hits.map(hitText),
    carrying: (value) => hits.filter((hit) => hitText(hit).includes(value)),
    route(prefix, route) {
      routes.push([prefix, route])
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
