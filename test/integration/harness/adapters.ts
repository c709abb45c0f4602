import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { serve } from '@hono/node-server'
import type {
  KeyholeIssuerPrivateJwk,
  Keyring,
  ProxyOpener,
  ProxyOptions,
  RevocationStore,
} from '@keyhole/core'
import { createNodeForwarder, type NodeForwarderOptions } from '@keyhole/core/node'
import * as keyholeExpress from '@keyhole/express'
import * as keyholeHono from '@keyhole/hono'
import express from 'express'
import { Hono } from 'hono'
import { recordEvent } from './leaks.js'

/**
 * What a test proxy app mounts. Every app gets the same routes on both adapters:
 * - `/proxy/*`: the engine in open mode (`proxy` options);
 * - `/gw/*`: the engine in gateway mode (when `gateway` is given);
 * - `/auth/*`: `keyholeAuth` in front of a handler that forwards with fetch itself (when `auth` is given);
 * - `/.well-known/jwks.json`, `/healthz`, `POST /revoke`, `POST /mint` (when configured).
 */
export interface AppSpec {
  opener: ProxyOpener
  /** Extra engine options for `/proxy`. */
  proxy?: Partial<ProxyOptions>
  /** Engine options for `/gw` (gateway mode); `upstream` is required. */
  gateway?: Partial<ProxyOptions> & { upstream: string }
  /** keyholeAuth options for `/auth`. */
  auth?: { upstream: string; tokenHeaders?: readonly string[] }
  /** Options for the node forwarder the proxies use (e.g. a test resolver). */
  forwarder?: NodeForwarderOptions
  jwks?: Keyring
  admin?: {
    adminToken: string
    store?: RevocationStore
    keyring?: Keyring
    maxTtl?: string
    /** The issuer key `POST /mint` signs with. */
    signWith?: KeyholeIssuerPrivateJwk
  }
}

export interface ProxyApp {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string
  close(): Promise<void>
}

export interface Adapter {
  readonly name: 'hono' | 'express'
  start(spec: AppSpec): Promise<ProxyApp>
}

const DEFAULT_TIMEOUT = '10s'

function engineOptions(spec: AppSpec, extra: Partial<ProxyOptions> | undefined): ProxyOptions {
  return { opener: spec.opener, timeout: DEFAULT_TIMEOUT, onEvent: recordEvent, ...extra }
}

function listening(server: Server): Promise<ProxyApp> {
  return new Promise((resolve, reject) => {
    const done = () => {
      const { port } = server.address() as AddressInfo
      resolve({
        origin: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((res) => {
            server.closeAllConnections()
            server.close(() => res())
          }),
      })
    }
    if (server.listening) done()
    else {
      server.once('listening', done)
      server.once('error', reject)
    }
  })
}

/** Hono on @hono/node-server, with the node forwarder plugged in as the README advises on Node. */
export const hono: Adapter = {
  name: 'hono',
  start: (spec) => startHono(spec, true),
}

/** Hono with the engine's default forwarder (web fetch), as on runtimes other than Node. */
export const honoWithFetch: Adapter = {
  name: 'hono',
  start: (spec) => startHono(spec, false),
}

async function startHono(spec: AppSpec, nodeForwarder: boolean): Promise<ProxyApp> {
  const forwarder = nodeForwarder ? createNodeForwarder(spec.forwarder) : undefined
  // fetch cannot check the address it dials, so on Node the engine takes it only with the targets
  // bounded: here to the suite's upstream (the gateway's). On Workers, fetch reaches no private network.
  const forward: Partial<ProxyOptions> | undefined = forwarder
    ? { forward: forwarder }
    : spec.gateway && { allowHosts: [spec.gateway.upstream] }
  const app = new Hono<keyholeHono.KeyholeEnv>()
  app.all('/proxy/*', keyholeHono.keyhole(engineOptions(spec, { ...forward, ...spec.proxy })))
  if (spec.gateway) {
    app.all('/gw/*', keyholeHono.keyhole(engineOptions(spec, { ...forward, ...spec.gateway })))
  }
  if (spec.auth) {
    app.use('/auth/*', keyholeHono.keyholeAuth({ opener: spec.opener, ...spec.auth }))
    app.all('/auth/*', async (c) => {
      const url = new URL(c.var.keyhole.target)
      const headers = new Headers(c.req.raw.headers)
      c.var.keyhole.inject(headers, url)
      const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD'
      const upstream = await fetch(url, {
        method: c.req.method,
        headers,
        body: hasBody ? c.req.raw.body : null,
        redirect: 'manual',
        ...(hasBody && { duplex: 'half' }),
      } as RequestInit)
      return new Response(upstream.body, upstream)
    })
  }
  if (spec.jwks) app.get('/.well-known/jwks.json', keyholeHono.jwks(spec.jwks))
  app.get('/healthz', keyholeHono.health())
  if (spec.admin) {
    const { adminToken, store, keyring, maxTtl, signWith } = spec.admin
    if (store) app.post('/revoke', keyholeHono.revoke({ store, adminToken }))
    else app.post('/revoke', keyholeHono.revoke({ opener: spec.opener as never, adminToken }))
    if (keyring)
      app.post('/mint', keyholeHono.mint({ keyring, adminToken, signWith, ...(maxTtl && { maxTtl }) }))
  }
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  const running = await listening(server)
  return {
    origin: running.origin,
    close: async () => {
      await running.close()
      forwarder?.destroy()
    },
  }
}

/** Express 5 with the adapter's own defaults (its node forwarder, Node streams end to end). */
export const expressAdapter: Adapter = {
  name: 'express',
  async start(spec) {
    const app = express()
    const forwarderOptions = spec.forwarder && { forwarderOptions: spec.forwarder }
    app.use('/proxy', keyholeExpress.keyhole(engineOptions(spec, { ...forwarderOptions, ...spec.proxy })))
    if (spec.gateway) {
      app.use('/gw', keyholeExpress.keyhole(engineOptions(spec, { ...forwarderOptions, ...spec.gateway })))
    }
    if (spec.auth) {
      app.use(
        '/auth',
        keyholeExpress.keyholeAuth({ opener: spec.opener, ...spec.auth }),
        async (req, res, next) => {
          try {
            const url = new URL(req.keyhole!.target)
            const headers = new Headers()
            for (let i = 0; i < req.rawHeaders.length; i += 2)
              headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
            req.keyhole!.inject(headers, url)
            const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
            const upstream = await fetch(url, {
              method: req.method,
              headers,
              body: hasBody ? (Readable.toWeb(req) as ReadableStream) : null,
              redirect: 'manual',
              ...(hasBody && { duplex: 'half' }),
            } as RequestInit)
            res.status(upstream.status)
            upstream.headers.forEach((value, name) => {
              if (name !== 'content-encoding' && name !== 'content-length' && name !== 'transfer-encoding') {
                res.setHeader(name, value)
              }
            })
            res.end(Buffer.from(await upstream.arrayBuffer()))
          } catch (error) {
            next(error)
          }
        },
      )
    }
    if (spec.jwks) app.get('/.well-known/jwks.json', keyholeExpress.jwks(spec.jwks))
    app.get('/healthz', keyholeExpress.health())
    if (spec.admin) {
      const { adminToken, store, keyring, maxTtl, signWith } = spec.admin
      if (store) app.post('/revoke', keyholeExpress.revoke({ store, adminToken }))
      else app.post('/revoke', keyholeExpress.revoke({ opener: spec.opener as never, adminToken }))
      if (keyring)
        app.post('/mint', keyholeExpress.mint({ keyring, adminToken, signWith, ...(maxTtl && { maxTtl }) }))
    }
    const server = app.listen(0, '127.0.0.1')
    return listening(server)
  },
}

/** Every scenario runs against each of these. */
export const adapters: readonly Adapter[] = [hono, expressAdapter]
