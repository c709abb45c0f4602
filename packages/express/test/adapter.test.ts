import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMemoryStore, createOpener, type Keyring, type Opener } from '@keyhole/core'
import express from 'express'
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
import { bodyGrant, expectKeyholeAuthErrors } from '../../core/test/kit/keyhole-auth-errors.js'
import { keyhole, keyholeAuth, keyholeErrors, revoke } from '../src/index.js'

// Mounting, body parsers in front, and req.keyhole, on real servers.

let upstream: Upstream
let origin: string
let keyring: Keyring
let opener: Opener
let token: string
const servers: Server[] = []
const middlewares: Array<{ close(): void }> = []
// What the upstream received, from its own record: the echo of it comes back with the injected
// credential masked by response scrubbing.
const seen = (record: Recorded | undefined) =>
  record && { url: record.url, auth: record.headers.authorization ?? null, length: record.bodyLength }
const lastReceived = () => seen(upstream.received.at(-1))
const MASKED = '*'.repeat('Bearer up-1'.length)

beforeAll(async () => {
  upstream = await startUpstream({ answer: jsonAnswer(seen) })
  origin = upstream.origin
  ;({ keyring } = await makeKeys())
  opener = createOpener({ keyring, issuers: testIssuers })
  token = await mintToken(keyring, {
    hosts: [origin],
    inject: [{ in: 'header', name: 'Authorization', value: 'Bearer up-1' }],
    ttl: '5m',
    sub: 'agent',
  })
})

afterAll(async () => {
  for (const m of middlewares) m.close()
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
  await upstream.close()
})

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  servers.push(server)
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function proxy() {
  const middleware = keyhole({ opener })
  middlewares.push(middleware)
  return middleware
}

const host = () => origin.slice('http://'.length)

describe('keyhole() mounted with app.use', () => {
  test('under a prefix, in a nested router, and at the root', async () => {
    const app = express()
    app.use('/proxy', proxy())
    const router = express.Router()
    router.use('/inner', proxy())
    app.use('/outer', router)
    const root = express()
    root.use(proxy())
    const [base, rootBase] = await Promise.all([listen(app), listen(root)])
    for (const url of [
      `${base}/proxy/http/${host()}/a%2Fb?x=1`,
      `${base}/outer/inner/http/${host()}/a%2Fb?x=1`,
      `${rootBase}/http/${host()}/a%2Fb?x=1`,
    ]) {
      const response = await fetch(url, { headers: { 'x-keyhole-token': token } })
      expect(response.status, url).toBe(200)
      expect(await response.json()).toEqual({ url: '/a%2Fb?x=1', auth: MASKED, length: 0 })
      expect(lastReceived()).toEqual({ url: '/a%2Fb?x=1', auth: 'Bearer up-1', length: 0 })
    }
    // The small masked answer goes out in one write with its own length; HEAD gets none of it.
    const url = `${base}/proxy/http/${host()}/len`
    const get = await fetch(url, { headers: { 'x-keyhole-token': token } })
    const text = await get.text()
    expect(text).toContain(MASKED)
    expect(get.headers.get('content-length')).toBe(String(Buffer.byteLength(text)))
    const head = await fetch(url, { method: 'HEAD', headers: { 'x-keyhole-token': token } })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })

  test('a body parser in front: bodiless requests still work, consumed bodies fail fast instead of hanging', async () => {
    const app = express()
    app.use(express.json())
    app.use('/proxy', proxy())
    const base = await listen(app)
    const get = await fetch(`${base}/proxy/http/${host()}/ok`, { headers: { 'x-keyhole-token': token } })
    expect(get.status).toBe(200)
    const text = await fetch(`${base}/proxy/http/${host()}/text`, {
      method: 'POST',
      headers: { 'x-keyhole-token': token, 'content-type': 'text/plain' },
      body: 'not parsed by express.json()',
    })
    expect(text.status).toBe(200)
    expect((await text.json()).length).toBe(28)
    const json = await fetch(`${base}/proxy/http/${host()}/json`, {
      method: 'POST',
      headers: { 'x-keyhole-token': token, 'content-type': 'application/json' },
      body: '{"a":1}',
    })
    // The engine's own refusal: JSON with X-Keyhole-Error and an event, not Express's HTML page.
    expect(json.status).toBe(400)
    expect(json.headers.get('x-keyhole-error')).toBe('bad_request')
    expect(await json.json()).toMatchObject({
      error: { code: 'bad_request', message: expect.stringContaining('before any body parser') },
    })
  })
})

describe('keyholeAuth()', () => {
  test('req.keyhole.prepare() builds the outgoing request from the incoming one, body streamed', async () => {
    const app = express()
    app.use(
      '/gw',
      keyholeAuth({ opener, upstream: origin, tokenHeaders: ['x-api-key'] }),
      async (req, res) => {
        const prepared = await req.keyhole!.prepare()
        const headers = Object.fromEntries(prepared.headers)
        const upstream = req.keyhole!.scrub(await fetch(prepared))
        res.json({ url: prepared.url, headers, upstream: await upstream.json() })
      },
    )
    const base = await listen(app)
    const response = await fetch(`${base}/gw/up?z=1`, {
      method: 'PUT',
      body: 'x'.repeat(100_000),
      headers: { 'x-api-key': token, authorization: 'Bearer sandbox', 'x-keep': '1', cookie: 'a=b' },
    })
    expect(response.status).toBe(200)
    const seen = await response.json()
    expect(seen.url).toBe(`${origin}/up?z=1`)
    expect(seen.upstream).toEqual({ url: '/up?z=1', auth: MASKED, length: 100_000 })
    expect(lastReceived()).toEqual({ url: '/up?z=1', auth: 'Bearer up-1', length: 100_000 })
    expect(seen.headers).toMatchObject({ authorization: 'Bearer up-1', 'x-keep': '1', cookie: 'a=b' })
    expect(seen.headers['x-api-key']).toBeUndefined()
    expect(seen.headers.host).toBeUndefined()
  })

  test('sets req.keyhole and refuses in the engine error shape', async () => {
    const app = express()
    let reached = 0
    app.use('/gw', keyholeAuth({ opener, upstream: origin }), (req, res) => {
      reached++
      const headers = new Headers({ authorization: 'Bearer sandbox', 'x-keep': '1' })
      const url = new URL(req.keyhole!.target)
      req.keyhole!.inject(headers, url)
      res.json({
        sub: req.keyhole!.grant.sub,
        target: req.keyhole!.target,
        headers: Object.fromEntries(headers),
      })
    })
    const base = await listen(app)
    const ok = await fetch(`${base}/gw/items?y=%2F`, { headers: { authorization: `Bearer ${token}` } })
    expect(await ok.json()).toEqual({
      sub: 'agent',
      target: `${origin}/items?y=%2F`,
      headers: { authorization: 'Bearer up-1', 'x-keep': '1' },
    })
    const missing = await fetch(`${base}/gw/items`)
    expect(missing.status).toBe(401)
    expect(missing.headers.get('x-keyhole-error')).toBe('missing_token')
    expect(await missing.json()).toEqual({ error: { code: 'missing_token', message: expect.any(String) } })
    expect(reached).toBe(1)
  })
})

describe('keyholeErrors()', () => {
  test('a KeyholeError prepare() or scrub() throws in the handler gets the engine error response', async () => {
    const bodyToken = await mintToken(keyring, bodyGrant(origin))
    const app = express()
    // The README's handler, as it is: nothing catches what prepare() throws.
    app.use('/gw', keyholeAuth({ opener, upstream: origin }), async (req, res) => {
      const upstream = req.keyhole!.scrub(await fetch(await req.keyhole!.prepare()))
      res.status(upstream.status).send(Buffer.from(await upstream.arrayBuffer()))
    })
    app.use('/gw', keyholeErrors())
    // Mounted once for the whole app, after a handler that passes the error on with next().
    app.use('/scrub', keyholeAuth({ opener, upstream: origin }), (req, _res, next) => {
      try {
        req.keyhole!.scrub(new Response('x', { headers: { 'content-encoding': 'x-unknown' } }))
      } catch (error) {
        next(error)
      }
    })
    app.use(keyholeErrors())
    const base = await listen(app)
    await expectKeyholeAuthErrors(base, { bodyToken, token, upstream })
  })

  test('other errors go on to the next error handler untouched', async () => {
    const app = express()
    app.use('/gw', keyholeAuth({ opener, upstream: origin }), (req, _res, next) => {
      if (req.path === '/keyhole') {
        // A KeyholeError that did not come from req.keyhole: not keyholeErrors()' to answer.
        next(Object.assign(new Error('mine'), { name: 'KeyholeError', code: 'bad_request', status: 409 }))
      } else throw Object.assign(new Error('boom'), { status: 500 })
    })
    app.use('/gw', keyholeErrors())
    const base = await listen(app)
    const boom = await fetch(`${base}/gw/boom`, { headers: { 'x-keyhole-token': token } })
    expect(boom.status).toBe(500)
    expect(boom.headers.get('x-keyhole-error')).toBeNull()
    expect(boom.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await boom.text()).toContain('Error: boom') // Express's page (with the stack outside production)
    const foreign = await fetch(`${base}/gw/keyhole`, { headers: { 'x-keyhole-token': token } })
    expect(foreign.status).toBe(409)
    expect(foreign.headers.get('x-keyhole-error')).toBeNull()

    // And an app's own error handler after it sees them as they were thrown.
    const custom = express()
    custom.use(
      '/gw',
      keyholeAuth({ opener, upstream: origin }),
      () => {
        throw new TypeError('custom')
      },
      keyholeErrors(),
    )
    custom.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(503).json({ handled: error.message, type: error.constructor.name })
    })
    const customBase = await listen(custom)
    const handled = await fetch(`${customBase}/gw/x`, { headers: { 'x-keyhole-token': token } })
    expect(handled.status).toBe(503)
    expect(await handled.json()).toEqual({ handled: 'custom', type: 'TypeError' })
  })
})

describe('admin routes', () => {
  test('revoke() also works behind express.json() (uses req.body)', async () => {
    const store = createMemoryStore({ sweepInterval: false })
    const app = express()
    app.use(express.json())
    app.post('/revoke', revoke({ store, adminToken: 'admin-secret-0123456789abcdef0123456789' }))
    const base = await listen(app)
    const response = await fetch(`${base}/revoke`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer admin-secret-0123456789abcdef0123456789',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ jti: 'jti-1', exp: Math.floor(Date.now() / 1000) + 60 }),
    })
    expect(response.status).toBe(200)
    expect(await store.isRevoked('jti-1')).toBe(true)
    store.close()
  })
})
