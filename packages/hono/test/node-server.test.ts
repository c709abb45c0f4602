import { request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createOpener, type Opener } from '@keyhole/core'
import { createNodeForwarder } from '@keyhole/core/node'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  jsonAnswer,
  makeKeys,
  mintToken,
  type Recorded,
  startUpstream,
  testIssuers,
  type Upstream,
} from '../../core/test/kit/index.js'
import { keyhole as universalKeyhole } from '../src/index.js'
import { keyhole } from '../src/node.js'

// On @hono/node-server the adapter reads the Node request itself (raw headers, and the request as
// the body for the node forwarder) unless something before it touched the request's headers or
// body. These pin that choice to the real server: a middleware's changes must still be seen.

let upstream: Upstream
let origin: string
let opener: Opener
let token: string
const servers: Server[] = []
const forward = createNodeForwarder()
// What the upstream received, from its own record: the echo of it comes back with the injected
// credential masked by response scrubbing.
function seen(record: Recorded | undefined): Record<string, unknown> | undefined {
  if (!record) return undefined
  const body = record.body
  return {
    auth: record.headers.authorization ?? null,
    extra: record.headers['x-extra'] ?? null,
    token: record.headers['x-keyhole-token'] ?? null,
    length: body.length,
    sum: body.reduce((a, b) => (a + b) % 65521, 0),
  }
}
const lastReceived = () => seen(upstream.received.at(-1))
const MASKED = '*'.repeat('Bearer up-1'.length)

beforeAll(async () => {
  upstream = await startUpstream({ answer: jsonAnswer(seen) })
  origin = upstream.origin
  const { keyring } = await makeKeys()
  opener = createOpener({ keyring, issuers: testIssuers })
  token = await mintToken(keyring, {
    hosts: [origin],
    inject: [{ in: 'header', name: 'Authorization', value: 'Bearer up-1' }],
    ttl: '5m',
  })
})

afterAll(async () => {
  forward.destroy()
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
  await upstream.close()
})

async function listen(app: Hono): Promise<string> {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  servers.push(server)
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const target = () => `/proxy/http/${origin.slice('http://'.length)}/echo`

function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => {
        text += c
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('keyhole() on @hono/node-server', () => {
  test('forwards a request nothing touched, its body streamed from the Node request', async () => {
    for (const fwd of [forward, undefined]) {
      const app = new Hono()
      let built: (string | undefined)[] = []
      app.use('/proxy/*', async (c, next) => {
        await next()
        built = Object.getOwnPropertySymbols(c.req.raw).map((symbol) => symbol.description)
      })
      // Without the node forwarder, fetch: it cannot check the address it dials, so bound the targets.
      app.all('/proxy/*', keyhole(fwd ? { opener, forward: fwd } : { opener, allowHosts: [origin] }))
      const base = await listen(app)
      const body = Buffer.alloc(3 * 1024 * 1024 + 7, 0)
      for (let i = 0; i < body.length; i++) body[i] = (i * 31) % 251
      const { status, json } = await send(
        base + target(),
        'POST',
        { 'x-keyhole-token': token, 'x-extra': 'kept' },
        body,
      )
      expect(status).toBe(200)
      expect(json).toEqual({ ...lastReceived(), auth: MASKED })
      expect(lastReceived()).toEqual({
        auth: 'Bearer up-1',
        extra: 'kept',
        token: null,
        length: body.length,
        sum: body.reduce((a, b) => (a + b) % 65521, 0),
      })
      // The server's lazy request was never asked for its headers or body: the adapter read the
      // Node request directly.
      expect(built).toContain('incomingKey')
      expect(built).not.toContain('headersKey')
      expect(built).not.toContain('requestCache')
    }
  })

  test('the universal keyhole() sees headers a middleware set on c.req.raw before it; the Node one reads the client request', async () => {
    const app = new Hono()
    // A gateway that keeps the token in a session and puts it in the header for the proxy.
    app.use('/proxy/*', async (c, next) => {
      c.req.raw.headers.set('x-keyhole-token', token)
      c.req.raw.headers.set('x-extra', 'from-middleware')
      await next()
    })
    app.all('/proxy/*', universalKeyhole({ opener, forward }))
    const base = await listen(app)
    const { status, json } = await send(base + target(), 'GET', { 'x-extra': 'from-client' })
    expect(status).toBe(200)
    expect(json).toMatchObject({ auth: MASKED, extra: 'from-middleware', token: null })
    expect(lastReceived()).toMatchObject({ auth: 'Bearer up-1', extra: 'from-middleware', token: null })

    // @keyhole/hono/node forwards what the client sent (documented): the middleware's token is not seen.
    const nodeApp = new Hono()
    nodeApp.use('/proxy/*', async (c, next) => {
      c.req.raw.headers.set('x-keyhole-token', token)
      await next()
    })
    nodeApp.all('/proxy/*', keyhole({ opener, forward }))
    const nodeBase = await listen(nodeApp)
    expect((await send(nodeBase + target(), 'GET', {})).status).toBe(401)
  })

  test('forwards the body a middleware did not read, after it read the headers', async () => {
    const app = new Hono()
    app.use('/proxy/*', async (c, next) => {
      if (c.req.header('x-extra') !== 'look') return c.text('no', 400)
      await next()
    })
    app.all('/proxy/*', keyhole({ opener, forward }))
    const base = await listen(app)
    const body = Buffer.from('a body after a header check')
    const { status, json } = await send(
      base + target(),
      'PUT',
      { 'x-keyhole-token': token, 'x-extra': 'look' },
      body,
    )
    expect(status).toBe(200)
    expect(json).toMatchObject({ length: body.length, extra: 'look' })
  })

  test('a body a middleware already read is 400 bad_request from the engine, not a 502 blaming the upstream', async () => {
    for (const [name, handler] of [
      ['node', keyhole],
      ['universal', universalKeyhole],
    ] as const) {
      const events: { outcome: string; reason?: string }[] = []
      const app = new Hono()
      app.use('/proxy/*', async (c, next) => {
        await c.req.json()
        await next()
      })
      app.all('/proxy/*', handler({ opener, forward, onEvent: (event) => void events.push(event) }))
      const base = await listen(app)
      const before = upstream.received.length
      const { status, json } = await send(
        base + target(),
        'POST',
        { 'x-keyhole-token': token, 'content-type': 'application/json' },
        Buffer.from('{"a":1}'),
      )
      expect({ name, status }).toEqual({ name, status: 400 })
      expect(json).toMatchObject({
        error: { code: 'bad_request', message: expect.stringContaining('read before keyhole saw it') },
      })
      expect(events).toMatchObject([{ outcome: 'bad_request', reason: 'body_already_read' }])
      expect(upstream.received.length).toBe(before)
    }
  })
})
