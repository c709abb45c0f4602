import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { serve } from '@hono/node-server'
import { createOpener, type Keyring, type Opener } from '@keyhole/core'
import { createNodeForwarder } from '@keyhole/core/node'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, onTestFinished, test, vi } from 'vitest'
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
import { type KeyholeEnv, keyhole, keyholeAuth } from '../src/index.js'

// Mounting and context: where the adapter finds the path below the mount point, on
// @hono/node-server and through app.request() (no Node bindings, as on other runtimes).

let upstream: Upstream
let origin: string
let keyring: Keyring
let opener: Opener
let token: string
let queryToken: string
const servers: Server[] = []
// What the upstream received, from its own record: the echo of it comes back with the injected
// credential masked by response scrubbing.
const seen = (record: Recorded | undefined) =>
  record && { url: record.url, auth: record.headers.authorization ?? null }
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
  queryToken = await mintToken(keyring, {
    hosts: [origin],
    inject: [{ in: 'query', name: 'key', value: 'q-1' }],
    ttl: '5m',
  })
})

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
  await upstream.close()
})

async function listen(app: Hono<KeyholeEnv>): Promise<string> {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  servers.push(server)
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const host = () => origin.slice('http://'.length)

describe('keyhole() finds the path below its mount point', () => {
  test.each([
    ['/proxy/*', '/proxy'],
    ['/t/:tenant/proxy/*', '/t/acme/proxy'],
    ['/*', ''],
  ])('app.all(%j)', async (route, prefix) => {
    const app = new Hono<KeyholeEnv>()
    app.all(route, keyhole({ opener, forward: createNodeForwarder() }))
    const base = await listen(app)
    const response = await fetch(`${base}${prefix}/http/${host()}/a%2Fb?x=1`, {
      headers: { 'x-keyhole-token': token },
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ url: '/a%2Fb?x=1', auth: MASKED })
    expect(lastReceived()).toEqual({ url: '/a%2Fb?x=1', auth: 'Bearer up-1' })
  })

  test('inside a sub-app mounted with app.route() and under basePath()', async () => {
    const sub = new Hono<KeyholeEnv>()
    sub.all('/proxy/*', keyhole({ opener, allowHosts: [origin] }))
    const app = new Hono<KeyholeEnv>().basePath('/v2')
    app.route('/api', sub)
    const base = await listen(app)
    const response = await fetch(`${base}/v2/api/proxy/http/${host()}/deep/path`, {
      headers: { 'x-keyhole-token': token },
    })
    expect(response.status).toBe(200)
    expect((await response.json()).url).toBe('/deep/path')
  })

  test('through app.request(), without Node bindings (the fetch forwarder)', async () => {
    const app = new Hono<KeyholeEnv>()
    // fetch cannot check the address it dials: the targets are bounded instead.
    app.all('/proxy/*', keyhole({ opener, allowHosts: [origin] }))
    const response = await app.request(`/proxy/http/${host()}/plain?y=2`, {
      headers: { 'x-keyhole-token': token },
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ url: '/plain?y=2', auth: MASKED })
    expect(lastReceived()).toEqual({ url: '/plain?y=2', auth: 'Bearer up-1' })
    const refused = await app.request(`/proxy/http/${host()}/plain`)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('x-keyhole-error')).toBe('missing_token')
  })
})

describe('keyholeAuth()', () => {
  test('puts grant, target, prepare and scrub on c.var.keyhole; prepare() strips and injects', async () => {
    const app = new Hono<KeyholeEnv>()
    app.use('/gw/*', keyholeAuth({ opener, upstream: `${origin}/base`, tokenHeaders: ['x-api-key'] }))
    app.all('/gw/*', async (c) => {
      const prepared = await c.var.keyhole.prepare()
      const upstream = c.var.keyhole.scrub(await fetch(prepared))
      return c.json({
        target: c.var.keyhole.target,
        url: prepared.url,
        method: prepared.method,
        redirect: prepared.redirect,
        headers: Object.fromEntries(prepared.headers),
        upstream: await upstream.json(),
      })
    })
    const base = await listen(app)
    const response = await fetch(`${base}/gw/items/1?z=%20`, {
      method: 'POST',
      body: 'payload',
      headers: {
        'x-api-key': token,
        authorization: 'Bearer sandbox',
        'x-forwarded-for': '10.0.0.1',
        'proxy-authorization': 'Basic c2FuZGJveA==',
        'x-other': 'kept',
        'content-type': 'text/plain',
      },
    })
    expect(response.status).toBe(200)
    const seen = await response.json()
    expect(seen).toMatchObject({
      target: `${origin}/base/items/1?z=%20`,
      url: `${origin}/base/items/1?z=%20`,
      method: 'POST',
      redirect: 'manual',
      upstream: { url: '/base/items/1?z=%20', auth: MASKED },
    })
    expect(lastReceived()).toEqual({ url: '/base/items/1?z=%20', auth: 'Bearer up-1' })
    expect(seen.headers.authorization).toBe('Bearer up-1')
    expect(seen.headers['x-other']).toBe('kept')
    for (const gone of ['x-api-key', 'x-forwarded-for', 'proxy-authorization', 'host']) {
      expect(seen.headers[gone], gone).toBeUndefined()
    }
  })

  test('prepare() checks another method against the grant', async () => {
    const getOnly = await mintToken(keyring, {
      hosts: [origin],
      methods: ['GET'],
      inject: [{ in: 'header', name: 'X-Key', value: 'k' }],
      ttl: '5m',
    })
    const app = new Hono<KeyholeEnv>()
    app.use('/gw/*', keyholeAuth({ opener, upstream: origin }))
    app.get('/gw/*', async (c) => {
      const ok = await c.var.keyhole.prepare()
      const refused = await c.var.keyhole
        .prepare(new Request('http://gateway/x', { method: 'DELETE' }))
        .catch((error: { code?: string }) => error.code)
      return c.json({ ok: ok.headers.get('x-key'), refused })
    })
    const response = await app.request('/gw/x', { headers: { 'x-keyhole-token': getOnly } })
    expect(await response.json()).toEqual({ ok: 'k', refused: 'method_not_allowed' })
  })

  test('still offers inject(headers, url) on c.var.keyhole', async () => {
    const app = new Hono<KeyholeEnv>()
    app.use('/gw/*', keyholeAuth({ opener, upstream: `${origin}/base` }))
    app.get('/gw/*', (c) => {
      const { grant, target } = c.var.keyhole
      const headers = new Headers({
        authorization: 'Bearer sandbox',
        'x-keyhole-token': 'x',
        'x-other': 'kept',
      })
      const url = new URL(target)
      c.var.keyhole.inject(headers, url)
      return c.json({ sub: grant.sub ?? null, target, url: url.href, headers: Object.fromEntries(headers) })
    })
    const response = await app.request('/gw/items/1?z=%20', { headers: { authorization: `Bearer ${token}` } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      sub: 'agent',
      target: `${origin}/base/items/1?z=%20`,
      url: `${origin}/base/items/1?z=%20`,
      headers: { authorization: 'Bearer up-1', 'x-other': 'kept' },
    })
  })

  test('scrub() takes the Response fetch returned for a compressed answer (fetch decoded it already)', async () => {
    // An upstream that compresses whatever it is asked, echoing the credential it got.
    const gzipping = await startUpstream({
      answer: (_req, res, record) => {
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' })
        res.end(gzipSync(`auth=${record.headers.authorization}`))
      },
    })
    try {
      const gzToken = await mintToken(keyring, {
        hosts: [gzipping.origin],
        inject: [{ type: 'header', name: 'Authorization', value: 'Bearer up-1' }],
        ttl: '5m',
      })
      const app = new Hono<KeyholeEnv>()
      app.use('/gw/*', keyholeAuth({ opener, upstream: gzipping.origin }))
      app.get('/gw/*', async (c) => c.var.keyhole.scrub(await fetch(await c.var.keyhole.prepare())))
      const response = await app.request('/gw/z', { headers: { 'x-keyhole-token': gzToken } })
      expect(response.status).toBe(200)
      expect(response.headers.get('content-encoding')).toBeNull()
      expect(await response.text()).toBe(`auth=${MASKED}`)
      expect(gzipping.received.at(-1)?.headers.authorization).toBe('Bearer up-1')
    } finally {
      await gzipping.close()
    }
  })

  test('inject() checks the URL against the grant and needs it for query credentials', async () => {
    const app = new Hono<KeyholeEnv>()
    app.use('/gw/*', keyholeAuth({ opener, upstream: origin }))
    app.get('/gw/*', (c) => {
      const attempt = (fn: () => void) => {
        try {
          fn()
          return 'ok'
        } catch (error) {
          return (error as { code?: string }).code ?? 'unknown'
        }
      }
      const url = new URL(c.var.keyhole.target)
      return c.json({
        withoutUrl: attempt(() => c.var.keyhole.inject(new Headers())),
        elsewhere: attempt(() => c.var.keyhole.inject(new Headers(), new URL('http://127.0.0.1:1/x'))),
        right: attempt(() => c.var.keyhole.inject(new Headers(), url)),
        url: url.href,
      })
    })
    const response = await app.request('/gw/q', { headers: { 'x-keyhole-token': queryToken } })
    expect(await response.json()).toEqual({
      withoutUrl: 'bad_request',
      elsewhere: 'host_not_allowed',
      right: 'ok',
      url: `${origin}/q?key=q-1`,
    })
  })

  test('a KeyholeError prepare() or scrub() throws in the handler gets the engine error response', async () => {
    const bodyToken = await mintToken(keyring, bodyGrant(origin))
    const app = new Hono<KeyholeEnv>()
    // A header an outer middleware set (as CORS does) stays on the error response.
    app.use('*', async (c, next) => {
      c.header('x-outer', '1')
      await next()
    })
    app.use('/gw/*', keyholeAuth({ opener, upstream: origin }))
    // The README's handler, as it is: nothing catches what prepare() throws.
    app.all('/gw/*', async (c) => c.var.keyhole.scrub(await fetch(await c.var.keyhole.prepare())))
    app.get('/scrub/*', keyholeAuth({ opener, upstream: origin }), (c) =>
      c.var.keyhole.scrub(new Response('x', { headers: { 'content-encoding': 'x-unknown' } })),
    )
    const base = await listen(app)
    // Hono's default onError logs the error before keyholeAuth answers it.
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    onTestFinished(() => logged.mockRestore())
    const headers = await expectKeyholeAuthErrors(base, { bodyToken, token, upstream })
    expect(headers.get('x-outer')).toBe('1')
  })

  test("other errors of the handler still go to app.onError, and a caught KeyholeError is the handler's", async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const app = new Hono<KeyholeEnv>()
      app.use('/gw/*', keyholeAuth({ opener, upstream: origin }))
      app.get('/gw/boom', () => {
        throw new Error('boom')
      })
      app.get('/gw/caught', async (c) => {
        const code = await c.var.keyhole
          .prepare(new Request('http://gateway/x', { method: 'DELETE' }))
          .then(() => 'none')
          .catch((error: { code?: string }) => error.code)
        return c.json({ code }, 418)
      })
      const custom = new Hono<KeyholeEnv>()
      custom.use('/gw/*', keyholeAuth({ opener, upstream: origin }))
      custom.get('/gw/*', () => {
        throw new TypeError('custom')
      })
      custom.onError((error, c) => c.json({ handled: error.message }, 503))
      const getOnly = await mintToken(keyring, {
        hosts: [origin],
        methods: ['GET'],
        inject: [{ in: 'header', name: 'X-Key', value: 'k' }],
        ttl: '5m',
      })
      const base = await listen(app)
      const customBase = await listen(custom)

      const boom = await fetch(`${base}/gw/boom`, { headers: { 'x-keyhole-token': token } })
      expect(boom.status).toBe(500)
      expect(boom.headers.get('x-keyhole-error')).toBeNull()
      expect(await boom.text()).toBe('Internal Server Error')
      expect(errors).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }))

      const caught = await fetch(`${base}/gw/caught`, { headers: { 'x-keyhole-token': getOnly } })
      expect(caught.status).toBe(418)
      expect(caught.headers.get('x-keyhole-error')).toBeNull()
      expect(await caught.json()).toEqual({ code: 'method_not_allowed' })

      const handled = await fetch(`${customBase}/gw/x`, { headers: { 'x-keyhole-token': token } })
      expect(handled.status).toBe(503)
      expect(handled.headers.get('x-keyhole-error')).toBeNull()
      expect(await handled.json()).toEqual({ handled: 'custom' })
    } finally {
      errors.mockRestore()
    }
  })

  test('refuses with the engine error shape and never runs the next handler', async () => {
    let reached = false
    const app = new Hono<KeyholeEnv>()
    app.use('/gw/*', keyholeAuth({ opener, upstream: 'http://127.0.0.1:9' }))
    app.get('/gw/*', (c) => {
      reached = true
      return c.text('no')
    })
    const missing = await app.request('/gw/x')
    expect(missing.status).toBe(401)
    expect(await missing.json()).toEqual({ error: { code: 'missing_token', message: expect.any(String) } })
    const wrongHost = await app.request('/gw/x', { headers: { 'x-keyhole-token': token } })
    expect(wrongHost.status).toBe(403)
    expect(wrongHost.headers.get('x-keyhole-error')).toBe('host_not_allowed')
    const garbage = await app.request('/gw/x', { headers: { 'x-keyhole-token': 'a.b.c.d.e' } })
    expect(garbage.status).toBe(401)
    expect(garbage.headers.get('x-keyhole-error')).toBe('invalid_token')
    expect(reached).toBe(false)
  })
})
