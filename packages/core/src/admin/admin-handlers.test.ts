import { compactDecrypt, decodeProtectedHeader, importJWK } from 'jose'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { generateKey } from '../keys/generate-key.js'
import { createKeyring, type Keyring } from '../keys/keyring.js'
import { createMemoryStore, type MemoryStore } from '../revocation/memory-store.js'
import type { RevocationStore } from '../revocation/store.js'
import type { KeyholePrivateJwk } from '../types.js'
import { type AdminHandlersOptions, createAdminHandlers } from './admin-handlers.js'

const ADMIN = 'admin-token-for-the-handler-tests-0123456789'
const SECRET = 'sk-live-must-never-be-echoed-4f1d'
const BASE = 'http://proxy.test'

let key: KeyholePrivateJwk
let keyring: Keyring
const stores: MemoryStore[] = []

beforeAll(async () => {
  key = await generateKey()
  keyring = createKeyring([key])
})
afterEach(() => {
  for (const store of stores.splice(0)) store.close()
})

function memoryStore(): MemoryStore {
  const store = createMemoryStore({ sweepInterval: false })
  stores.push(store)
  return store
}

function admin(options: AdminHandlersOptions = {}) {
  return createAdminHandlers({ keyring, store: memoryStore(), adminToken: ADMIN, ...options })
}

function post(path: string, body: unknown, token: string | null = ADMIN): Request {
  return new Request(`${BASE}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token !== null && { authorization: `Bearer ${token}` }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } }
  expect(response.headers.get('x-keyhole-error')).toBe(body.error.code)
  return { status: response.status, ...body.error }
}

const grant = (extra: Record<string, unknown> = {}) => ({
  hosts: ['api.example.com'],
  inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }],
  ttl: '5m',
  ...extra,
})

// An issuer kid as issuers have them: a SHA-256 RFC 7638 thumbprint, base64url.
const KID = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'

describe('createAdminHandlers: configuration', () => {
  it('refuses an admin token shorter than 32 bytes, saying how to make one', () => {
    for (const adminToken of ['', 'short', 'x'.repeat(31), 'é'.repeat(15)]) {
      let error: unknown
      try {
        createAdminHandlers({ keyring, adminToken })
      } catch (e) {
        error = e
      }
      expect(error).toMatchObject({ code: 'bad_request' })
      expect((error as Error).message).toContain('openssl rand -base64 32')
      if (adminToken) expect((error as Error).message).not.toContain(adminToken)
    }
    // 32 bytes of UTF-8 is enough, whatever the character count.
    expect(() => createAdminHandlers({ keyring, adminToken: 'é'.repeat(16) })).not.toThrow()
  })

  it('answers 404 on /revoke and /mint when no admin token is configured', async () => {
    const handlers = createAdminHandlers({ keyring, store: memoryStore(), adminOffMessage: 'turn them on' })
    for (const path of ['/revoke', '/mint']) {
      const response = (await handlers.handle(post(path, { jti: 'a', exp: 1 }))) as Response
      expect(await errorOf(response)).toEqual({ status: 404, code: 'not_found', message: 'turn them on' })
    }
  })
})

describe('GET routes', () => {
  it('serves only public encryption keys, cacheable', async () => {
    const issuer = await generateKey({ use: 'sig' })
    const mixed = { publicJwks: () => ({ keys: [...keyring.publicJwks().keys, { ...issuer }, { ...key }] }) }
    const response = await createAdminHandlers({ keyring: mixed as never }).jwks(new Request(`${BASE}/x`))
    expect(response.headers.get('cache-control')).toBe('public, max-age=300')
    const { keys } = (await response.json()) as { keys: Array<Record<string, unknown>> }
    expect(keys.map((k) => k.kid)).toEqual([key.kid, key.kid])
    for (const k of keys) expect(k).not.toHaveProperty('d')
  })

  it('healthz always answers; readyz waits for ready() and for the store', async () => {
    let ready = false
    let storeUp = true
    const store: RevocationStore = {
      isRevoked: async () => {
        if (!storeUp) throw new Error('down')
        return false
      },
      revoke: async () => {},
    }
    const handlers = createAdminHandlers({ keyring, store, ready: () => ready })
    const get = (path: string) => handlers.handle(new Request(`${BASE}${path}`)) as Promise<Response>
    expect((await get('/healthz')).status).toBe(200)
    expect(await (await get('/healthz')).json()).toEqual({ status: 'ok' })
    const starting = await get('/readyz')
    expect(starting.status).toBe(503)
    expect(starting.headers.get('cache-control')).toBe('no-store')
    ready = true
    expect((await get('/readyz')).status).toBe(200)
    storeUp = false
    expect((await get('/readyz')).status).toBe(503)
    storeUp = true
    expect(await (await get('/readyz')).json()).toEqual({ status: 'ready' })
  })
})

describe('handle()', () => {
  it('routes by path, leaves other paths alone, refuses wrong methods and answers HEAD like GET', async () => {
    const handlers = admin()
    expect(handlers.handle(new Request(`${BASE}/https/api.example.com/x`))).toBeUndefined()
    expect(handlers.handle(new Request(`${BASE}/revoke/more`))).toBeUndefined()
    const wrong = (await handlers.handle(new Request(`${BASE}/revoke`))) as Response
    expect(wrong.status).toBe(404)
    expect(wrong.headers.get('allow')).toBe('POST')
    const head = (await handlers.handle(new Request(`${BASE}/healthz`, { method: 'HEAD' }))) as Response
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    // A path below a mount point, as adapters pass it.
    const mounted = (await handlers.handle(new Request(`${BASE}/admin/healthz`), {
      path: '/healthz',
    })) as Response
    expect(mounted.status).toBe(200)
  })
})

describe('admin token and rate limit', () => {
  it('refuses a missing or wrong token with 401, then 429 with Retry-After after 10 failures', async () => {
    let clock = 1_700_000_000_000
    const handlers = admin({ now: () => clock })
    const from = { clientAddress: '10.0.0.7' }
    const body = { jti: 'id-1', exp: clock / 1000 + 60 }
    const bare = await handlers.revoke(post('/revoke', body, null), from)
    expect((await errorOf(bare)).code).toBe('unauthorized')
    // RFC 6750 §3.1: no error code for a request that carried no credentials.
    expect(bare.headers.get('www-authenticate')).toBe('Bearer')
    for (let i = 1; i < 10; i++) {
      const wrong = await handlers.revoke(post('/revoke', body, `wrong-${i}`), from)
      expect(wrong.status).toBe(401)
      expect(wrong.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    }
    const limited = await handlers.revoke(post('/revoke', body, 'wrong-again'), from)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    expect((await errorOf(limited)).code).toBe('rate_limited')
    // Another address is not affected.
    expect(
      (await handlers.revoke(post('/revoke', body, 'wrong'), { clientAddress: '10.0.0.8' })).status,
    ).toBe(401)
    // The window ends.
    clock += 59_000
    expect((await handlers.revoke(post('/revoke', body, 'wrong'), from)).headers.get('retry-after')).toBe('1')
    clock += 1_000
    expect((await handlers.revoke(post('/revoke', body, 'wrong'), from)).status).toBe(401)
  })

  it('never throttles the right token, however many failures came from the same address', async () => {
    const store = memoryStore()
    const handlers = admin({ store })
    const from = { clientAddress: '192.168.1.20' }
    for (let i = 0; i < 50; i++) await handlers.revoke(post('/revoke', {}, 'sandbox-guess'), from)
    expect((await handlers.revoke(post('/revoke', {}, 'sandbox-guess'), from)).status).toBe(429)
    const exp = Math.floor(Date.now() / 1000) + 600
    const response = await handlers.revoke(post('/revoke', { jti: 'operator-revokes', exp }), from)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ revoked: true, jti: 'operator-revokes', exp })
    expect(await store.isRevoked('operator-revokes')).toBe(true)
  })

  it('accepts the bearer scheme in any case and nothing else', async () => {
    const handlers = admin()
    const exp = Math.floor(Date.now() / 1000) + 60
    const send = (authorization: string) =>
      handlers.revoke(
        new Request(`${BASE}/revoke`, {
          method: 'POST',
          headers: { authorization },
          body: JSON.stringify({ jti: 'x', exp }),
        }),
        { clientAddress: `a-${authorization.length}` },
      )
    expect((await send(`bearer ${ADMIN}`)).status).toBe(200)
    for (const header of [
      ADMIN,
      `Basic ${ADMIN}`,
      `Bearer ${ADMIN}x`,
      `Bearer ${ADMIN.slice(1)}`,
      `Bearer ${ADMIN} x`,
    ])
      expect((await send(header)).status).toBe(401)
  })
})

describe('POST /revoke', () => {
  it('refuses an exp beyond the longest token lifetime, and malformed bodies', async () => {
    const store = memoryStore()
    const handlers = admin({ store, maxTtl: '1h' })
    const now = Math.floor(Date.now() / 1000)
    const beyond = await errorOf(await handlers.revoke(post('/revoke', { jti: 'far', exp: now + 7200 })))
    expect(beyond).toMatchObject({ status: 400, code: 'bad_request' })
    expect(beyond.message).toContain('3600 seconds')
    // The message states the allowance the check grants, so a caller can tell where the bound is.
    expect(beyond.message).toContain('give or take 60 s')
    expect(await store.isRevoked('far')).toBe(false)
    expect((await handlers.revoke(post('/revoke', { jti: 'skewed', exp: now + 3650 }))).status).toBe(200)
    expect((await handlers.revoke(post('/revoke', { jti: 'near', exp: now + 3600 }))).status).toBe(200)
    for (const body of ['', 'not json', '[]', { jti: 1, exp: now }, { jti: 'a' }, { jti: 'a', exp: -1 }]) {
      expect((await errorOf(await handlers.revoke(post('/revoke', body)))).code).toBe('bad_request')
    }
    const big = await handlers.revoke(post('/revoke', { jti: 'a', exp: now, pad: 'x'.repeat(70_000) }))
    expect(await errorOf(big)).toMatchObject({ status: 400, message: expect.stringContaining('65536 bytes') })
  })

  it('revokes everything one issuer key signed: the id issuer:<kid>, kept for ten years (the key could sign more)', async () => {
    const revoked: Array<[string, Date]> = []
    const store: RevocationStore = {
      isRevoked: async () => false,
      revoke: async (jti, expiresAt) => {
        revoked.push([jti, expiresAt])
      },
    }
    const actions: unknown[] = []
    const handlers = admin({ store, onAction: (action) => actions.push(action) })
    const before = Math.floor(Date.now() / 1000)
    const response = await handlers.revoke(post('/revoke', { issuer: KID }))
    expect(response.status).toBe(200)
    const body = (await response.json()) as { jti: string; exp: number }
    expect(body.jti).toBe(`issuer:${KID}`)
    expect(body.exp).toBeGreaterThanOrEqual(before + 315_360_000)
    expect(body.exp).toBeLessThanOrEqual(before + 315_360_001)
    expect(revoked).toEqual([[`issuer:${KID}`, new Date(body.exp * 1000)]])
    expect(actions).toEqual([{ type: 'revoke', jti: `issuer:${KID}`, exp: body.exp, issuer: KID }])
    // Not a thumbprint: it could never match a grant, so it is refused rather than "revoked".
    for (const bad of [
      { issuer: '' },
      { issuer: 7 },
      { issuer: 'typo!' },
      { issuer: `${KID}x` },
      { issuer: KID, jti: 'j', exp: before + 60 },
    ]) {
      expect((await errorOf(await handlers.revoke(post('/revoke', bad)))).code).toBe('bad_request')
    }
  })

  it('answers 503 when the store fails, without its message', async () => {
    const store: RevocationStore = {
      isRevoked: async () => false,
      revoke: async () => {
        throw new Error(`connection to redis://:${SECRET}@db refused`)
      },
    }
    const response = await admin({ store }).revoke(post('/revoke', { issuer: KID }))
    const error = await errorOf(response)
    expect(error).toMatchObject({ status: 503, code: 'revocation_unavailable' })
    expect(error.message).not.toContain(SECRET)
  })
})

describe('POST /mint', () => {
  it('mints for the newest key, signed with signWith', async () => {
    const issuer = await generateKey({ use: 'sig' })
    const actions: unknown[] = []
    const handlers = admin({ signWith: issuer, onAction: (action) => actions.push(action) })
    const response = await handlers.mint(post('/mint', grant({ sub: 'agent-1' })))
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const { token, jti, exp } = (await response.json()) as { token: string; jti: string; exp: number }
    expect(decodeProtectedHeader(token)).toMatchObject({ kid: key.kid, cty: 'JWT' })
    const { kid: _k, alg: _a, use: _u, ...material } = key
    const { plaintext } = await compactDecrypt(token, await importJWK(material, 'ECDH-ES+A256KW'))
    // The plaintext is a JWS whose header names the issuer key.
    const jws = new TextDecoder().decode(plaintext)
    expect(decodeProtectedHeader(jws)).toMatchObject({
      kid: issuer.kid,
      alg: 'ES256',
      typ: 'keyhole-grant+jwt',
    })
    expect(actions).toEqual([{ type: 'mint', jti, exp, sub: 'agent-1' }])
  })

  it('refuses a ttl above mintMaxTtl (default 1h)', async () => {
    const error = await errorOf(await admin().mint(post('/mint', grant({ ttl: '2h' }))))
    expect(error).toMatchObject({ status: 400, code: 'bad_request' })
  })

  it('never echoes what the caller sent: bad patterns are named by position', async () => {
    const handlers = admin()
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        grant({ hosts: ['api.example.com', 'x.example.com', `${SECRET}.example.com/path`] }),
        /^hosts\[2\] is not a valid host pattern/,
      ],
      [grant({ paths: [`/v1/${SECRET}/../admin`] }), /^paths\[0\] is not a valid path pattern/],
      [grant({ inject: [{ in: 'header', name: `X-Forwarded-${SECRET}`, value: 'v' }] }), /^inject\[0\]/],
      // Named fields are listed; the unknown one is not quoted.
      [grant({ [SECRET]: true }), /^the grant has an unknown field; grant fields are hosts, paths, /],
    ]
    for (const [body, expected] of cases) {
      const response = await handlers.mint(post('/mint', body))
      const text = await response.text()
      expect(response.status, text).toBe(400)
      expect(text).not.toContain(SECRET)
      expect(JSON.parse(text).error.message).toMatch(expected)
    }
  })
})
