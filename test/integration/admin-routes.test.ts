// Core's management routes as each adapter mounts them, on real servers on 127.0.0.1: the
// per-route functions (health, jwks, revoke, mint) and the one-middleware router (admin). Every
// case runs against every mount, so the adapters are shown to behave the same.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import {
  createKeyring,
  createMemoryStore,
  createOpener,
  generateKey,
  ISSUER_REVOCATION_SECONDS,
  type KeyholeIssuerPrivateJwk,
  type Keyring,
  type MemoryStore,
  toPublicJwk,
} from '@keyhole/core'
import * as keyholeExpress from '@keyhole/express'
import * as keyholeHono from '@keyhole/hono'
import express from 'express'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const ADMIN = `admin-${crypto.randomUUID()}`
const SECRET = `sk-live-admin-route-${crypto.randomUUID()}`

interface Mounted {
  readonly origin: string
  readonly store: MemoryStore
  close(): Promise<void>
}

interface Options {
  keyring: Keyring
  store: MemoryStore
  signWith: KeyholeIssuerPrivateJwk
}

type Mount = (options: Options) => Server

const mounts: Record<string, Mount> = {
  'hono routes': ({ keyring, store, signWith }) => {
    const app = new Hono()
    app.get('/.well-known/jwks.json', keyholeHono.jwks(keyring))
    app.get('/healthz', keyholeHono.health())
    app.post('/revoke', keyholeHono.revoke({ store, adminToken: ADMIN, maxTtl: '1h' }))
    app.post('/mint', keyholeHono.mint({ keyring, adminToken: ADMIN, signWith }))
    return serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  },
  'hono admin()': ({ keyring, store, signWith }) => {
    const app = new Hono()
    app.use('/admin/*', keyholeHono.admin({ keyring, store, adminToken: ADMIN, maxTtl: '1h', signWith }))
    app.all('*', (c) => c.text('not admin', 418))
    return serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  },
  'express routes': ({ keyring, store, signWith }) => {
    const app = express()
    app.get('/.well-known/jwks.json', keyholeExpress.jwks(keyring))
    app.get('/healthz', keyholeExpress.health())
    app.post('/revoke', keyholeExpress.revoke({ store, adminToken: ADMIN, maxTtl: '1h' }))
    app.post('/mint', keyholeExpress.mint({ keyring, adminToken: ADMIN, signWith }))
    return app.listen(0, '127.0.0.1')
  },
  'express admin()': ({ keyring, store, signWith }) => {
    const app = express()
    app.use('/admin', keyholeExpress.admin({ keyring, store, adminToken: ADMIN, maxTtl: '1h', signWith }))
    app.use((_req, res) => {
      res.status(418).send('not admin')
    })
    return app.listen(0, '127.0.0.1')
  },
}

let keyring: Keyring
let issuer: KeyholeIssuerPrivateJwk

beforeAll(async () => {
  keyring = createKeyring([await generateKey()])
  issuer = await generateKey({ use: 'sig' })
})

async function mount(name: string): Promise<Mounted> {
  const store = createMemoryStore({ sweepInterval: false })
  const server = (mounts[name] as Mount)({ keyring, store, signWith: issuer })
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin: name.endsWith('admin()') ? `${base}/admin` : base,
    store,
    close: () =>
      new Promise<void>((resolve) => {
        store.close()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function post(app: Mounted, path: string, body: unknown, token: string | null = ADMIN): Promise<Response> {
  return fetch(`${app.origin}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token !== null && { authorization: `Bearer ${token}` }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

const seconds = () => Math.floor(Date.now() / 1000)

describe.each(Object.keys(mounts))('%s', (name) => {
  let app: Mounted
  beforeAll(async () => {
    app = await mount(name)
  })
  afterAll(() => app.close())

  test('serves public keys and health', async () => {
    const jwks = await fetch(`${app.origin}/.well-known/jwks.json`)
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=300')
    const { keys } = (await jwks.json()) as { keys: Array<Record<string, unknown>> }
    expect(keys.map((k) => k.kid)).toEqual([keyring.current.kid])
    expect(keys[0]).not.toHaveProperty('d')
    const health = await fetch(`${app.origin}/healthz`)
    expect(await health.json()).toEqual({ status: 'ok' })
  })

  test('refuses /revoke beyond the longest token lifetime; revokes a jti and an issuer', async () => {
    const far = await post(app, '/revoke', { jti: 'far-away', exp: seconds() + 7200 })
    expect(far.status).toBe(400)
    expect(far.headers.get('x-keyhole-error')).toBe('bad_request')
    expect(await app.store.isRevoked('far-away')).toBe(false)

    const ok = await post(app, '/revoke', { jti: 'near', exp: seconds() + 600 })
    expect(ok.status).toBe(200)
    expect(await app.store.isRevoked('near')).toBe(true)

    const kid = toPublicJwk(issuer).kid
    const all = await post(app, '/revoke', { issuer: kid })
    expect(all.status).toBe(200)
    const body = (await all.json()) as { jti: string; exp: number }
    expect(body.jti).toBe(`issuer:${kid}`)
    // Ten years, not the token lifetime: the key could go on signing new grants.
    expect(body.exp - seconds()).toBeGreaterThan(ISSUER_REVOCATION_SECONDS - 10)
    expect(body.exp - seconds()).toBeLessThanOrEqual(ISSUER_REVOCATION_SECONDS)
    expect(await app.store.isRevoked(`issuer:${kid}`)).toBe(true)
  })

  test('mints a signed token, and never echoes a secret from a bad grant', async () => {
    const grant = {
      hosts: ['api.example.com'],
      inject: [{ in: 'header', name: 'X-Key', value: SECRET }],
      ttl: '5m',
    }
    const minted = await post(app, '/mint', grant)
    expect(minted.status).toBe(200)
    const { token, jti } = (await minted.json()) as { token: string; jti: string }
    const opener = createOpener({ keyring, issuers: [toPublicJwk(issuer)] })
    const opened = await opener.open(token)
    expect(opened.jti).toBe(jti)

    for (const bad of [
      { ...grant, hosts: ['api.example.com', `${SECRET}.example.com/x`] },
      { ...grant, paths: [`/a/${SECRET}/../b`] },
      { ...grant, inject: [{ in: 'header', name: `X-Forwarded-${SECRET}`, value: 'v' }] },
      { ...grant, [SECRET]: 1 },
    ]) {
      const refused = await post(app, '/mint', bad)
      const text = await refused.text()
      expect(refused.status, text).toBe(400)
      expect(text).not.toContain(SECRET)
    }
    const positional = await post(app, '/mint', { ...grant, hosts: ['a.example.com', `${SECRET}/x`] })
    expect((await positional.json()).error.message).toMatch(/^hosts\[1\] is not a valid host pattern/)
  })

  // Last: it exhausts this address's failure budget.
  test('rate-limits failed attempts per address, and never throttles the right token', async () => {
    const body = { jti: 'rate-limited', exp: seconds() + 60 }
    for (let i = 0; i < 10; i++) {
      const wrong = await post(app, '/revoke', body, i === 0 ? null : `wrong-${i}`)
      expect(wrong.status).toBe(401)
      expect(wrong.headers.get('x-keyhole-error')).toBe('unauthorized')
      // RFC 6750 §3.1 on every mount: no error code when no credentials came.
      expect(wrong.headers.get('www-authenticate')).toBe(i === 0 ? 'Bearer' : 'Bearer error="invalid_token"')
    }
    const limited = await post(app, '/revoke', body, 'wrong-again')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('x-keyhole-error')).toBe('rate_limited')
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await app.store.isRevoked('rate-limited')).toBe(false)
    for (let i = 0; i < 20; i++) await post(app, '/revoke', body, 'still-guessing')

    const operator = await post(app, '/revoke', body)
    expect(operator.status).toBe(200)
    expect(await app.store.isRevoked('rate-limited')).toBe(true)
  })
})

describe('both adapters refuse a short admin token when the routes are created', () => {
  const store = createMemoryStore({ sweepInterval: false })
  afterAll(() => store.close())
  test.each([
    ['hono revoke', () => keyholeHono.revoke({ store, adminToken: 'short-admin-token' })],
    ['hono mint', () => keyholeHono.mint({ keyring, adminToken: 'x'.repeat(31) })],
    ['hono admin', () => keyholeHono.admin({ store, adminToken: 'short-admin-token' })],
    ['express revoke', () => keyholeExpress.revoke({ store, adminToken: 'short-admin-token' })],
    ['express mint', () => keyholeExpress.mint({ keyring, adminToken: 'x'.repeat(31) })],
    ['express admin', () => keyholeExpress.admin({ store, adminToken: 'short-admin-token' })],
  ])('%s', (_name, create) => {
    expect(create).toThrow(
      expect.objectContaining({
        code: 'bad_request',
        message: expect.stringContaining('openssl rand -base64 32'),
      }),
    )
  })
})

describe('admin() passes other paths on', () => {
  test.each(['hono admin()', 'express admin()'])('%s', async (name) => {
    const app = await mount(name)
    try {
      const other = await fetch(`${app.origin}/https/api.example.com/x`)
      expect(other.status).toBe(418)
      const wrongMethod = await fetch(`${app.origin}/revoke`)
      expect(wrongMethod.status).toBe(404)
      expect(wrongMethod.headers.get('allow')).toBe('POST')
    } finally {
      await app.close()
    }
  })
})

describe('express: behind express.json()', () => {
  test('revoke() reads the body the parser already read', async () => {
    const store = createMemoryStore({ sweepInterval: false })
    const app = express()
    app.use(express.json())
    app.post('/revoke', keyholeExpress.revoke({ store, adminToken: ADMIN }))
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jti: 'parsed-first', exp: seconds() + 60 }),
      })
      expect(response.status).toBe(200)
      expect(await store.isRevoked('parsed-first')).toBe(true)
    } finally {
      store.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  test('a chunked body over the limit is refused with 400 and the connection still answers', async () => {
    const store = createMemoryStore({ sweepInterval: false })
    const app = express()
    app.post('/revoke', keyholeExpress.revoke({ store, adminToken: ADMIN }))
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    try {
      const encoder = new TextEncoder()
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode('{"pad":"'))
          for (let i = 0; i < 20; i++) controller.enqueue(encoder.encode('x'.repeat(8192)))
          controller.enqueue(encoder.encode('"}'))
          controller.close()
        },
      })
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit)
      expect(response.status).toBe(400)
      expect((await response.json()).error.message).toContain('65536 bytes')
    } finally {
      store.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
