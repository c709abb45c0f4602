import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { pipeline, Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import { createAdaptorServer } from '@hono/node-server'
import { createProxy, type ProxyEvent, type ProxyOptions } from '@keyhole/core'
import { createNodeForwarder } from '@keyhole/core/node'
import { keyhole as expressKeyhole } from '@keyhole/express'
import { keyhole as honoKeyhole } from '@keyhole/hono'
import express from 'express'
import { Hono } from 'hono'
import { observe } from './secrets.js'

/** The three ways keyhole is served in these suites. */
export type ProxyKind = 'core' | 'hono' | 'express'
export const PROXY_KINDS: readonly ProxyKind[] = ['core', 'hono', 'express']

/** A proxy listening on 127.0.0.1. */
export interface RunningProxy {
  readonly kind: ProxyKind
  readonly port: number
  /** The mount point below the origin: `''` for core, `/proxy` for the adapters. */
  readonly prefix: string
  /** `http://127.0.0.1:PORT` + prefix: append `/{scheme}/{host}/{path}`. */
  readonly base: string
  /** Every event the engine emitted. */
  readonly events: ProxyEvent[]
  close(): Promise<void>
}

/**
 * core's `createProxy` served by plain node:http. The raw request target is handed to the engine
 * as `context.path`, so the engine sees exactly what came over the wire.
 */
function coreServer(options: ProxyOptions): Server {
  const handle = createProxy(options)
  return createServer({ maxHeaderSize: 16 * 1024 }, (req: IncomingMessage, res: ServerResponse) => {
    const controller = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) controller.abort()
    })
    let request: Request
    try {
      const headers = new Headers()
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
      const method = req.method ?? 'GET'
      const body =
        method === 'GET' || method === 'HEAD' ? null : (Readable.toWeb(req) as ReadableStream<Uint8Array>)
      request = new Request('http://keyhole.invalid/', {
        method,
        headers,
        body,
        signal: controller.signal,
        duplex: 'half',
      } as RequestInit)
    } catch {
      // Not representable as a web Request (e.g. CONNECT/TRACE): the bridge refuses, keyhole never sees it.
      res.writeHead(400, { 'x-bridge': 'refused' }).end()
      return
    }
    handle(request, { path: req.url ?? '/', signal: controller.signal }).then(
      (response) => writeResponse(res, response),
      () => {
        res.writeHead(500, { 'x-bridge': 'engine-threw' }).end()
      },
    )
  })
}

function writeResponse(res: ServerResponse, response: Response): void {
  res.statusCode = response.status
  for (const [name, value] of response.headers) if (name !== 'set-cookie') res.setHeader(name, value)
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) res.setHeader('set-cookie', cookies)
  if (!response.body) {
    res.end()
    return
  }
  pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), res, () => {})
}

/** Starts one kind of proxy with the given engine options; `record` keeps and leak-checks every event. */
export async function startProxy(
  kind: ProxyKind,
  options: ProxyOptions,
  { record = true }: { record?: boolean } = {},
): Promise<RunningProxy> {
  const events: ProxyEvent[] = []
  const userEvent = options.onEvent
  // On Node the engine needs a forwarder that checks the addresses it dials (fetch cannot):
  // the node forwarder, as the adapters' READMEs advise and Express uses by default.
  const ownForwarder =
    kind !== 'express' &&
    options.forward === undefined &&
    options.upstream === undefined &&
    !options.allowHosts
      ? createNodeForwarder()
      : undefined
  if (ownForwarder) options = { ...options, forward: ownForwarder }
  // Load runs pass record: false so that keeping events does not grow the heap being measured.
  const engineOptions: ProxyOptions = record
    ? {
        ...options,
        onEvent: (event) => {
          events.push(event)
          observe(`event:${kind}`, event)
          return userEvent?.(event)
        },
      }
    : options
  let server: Server
  let prefix = ''
  if (kind === 'core') {
    server = coreServer(engineOptions)
  } else if (kind === 'hono') {
    prefix = '/proxy'
    const app = new Hono()
    app.all('/proxy/*', honoKeyhole(engineOptions))
    app.onError((error, c) => {
      observe('hono:onError', error)
      return c.text('adapter error', 500)
    })
    server = createAdaptorServer({ fetch: app.fetch }) as Server
  } else {
    prefix = '/proxy'
    const app = express()
    app.use('/proxy', expressKeyhole(engineOptions))
    app.use((error: unknown, _req: unknown, res: ServerResponse, _next: unknown) => {
      observe('express:error', error)
      if (process.env.KH_DEBUG) console.error('express error', error)
      res.statusCode = 500
      res.end('adapter error')
    })
    server = createServer(app)
  }
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  return {
    kind,
    port,
    prefix,
    base: `http://127.0.0.1:${port}${prefix}`,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        ownForwarder?.destroy()
        server.close(() => resolve())
      }),
  }
}
