import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isKeyholeError, KeyholeError } from '../errors.js'
import type { OAuth2Injection } from '../types.js'
import { createOAuth2Injector, MAX_TOKEN_RESPONSE_BYTES } from './oauth2.js'
import { context, outgoing } from './test-request.fixture.js'

const CLIENT_SECRET = 'client-secret-TOPSECRET-4f1e0c2b9a8d7e6f5a4b3c2d1e0f9a8b'

interface Listening {
  server: Server
  origin: string
  tokenRequests: number
  bodies: string[]
  close(): Promise<void>
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening> {
  const state = { tokenRequests: 0, bodies: [] as string[] }
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/token')) state.tokenRequests++
    handler(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return Object.assign(state, {
    server,
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  })
}

async function rejection(promise: Promise<unknown>): Promise<KeyholeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(KeyholeError)
  return error as KeyholeError
}

describe('oauth2 against a real authorization server (oidc-provider)', () => {
  let as: Listening
  let provider: Provider

  beforeAll(async () => {
    let handler: (req: IncomingMessage, res: ServerResponse) => void = () => {}
    as = await listen((req, res) => handler(req, res))
    provider = new Provider(as.origin, {
      clients: [
        {
          client_id: 'basic-client',
          client_secret: CLIENT_SECRET,
          grant_types: ['client_credentials', 'refresh_token', 'authorization_code'],
          response_types: ['code'],
          redirect_uris: ['https://rp.example.com/cb'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
        {
          client_id: 'post-client',
          client_secret: CLIENT_SECRET,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_post',
        },
      ],
      features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
      scopes: ['openid', 'offline_access', 'api:read'],
      ttl: { ClientCredentials: 3600, AccessToken: 3600, RefreshToken: 86400, Grant: 86400 },
      findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    })
    // Quiet: the provider reports every failed grant on its own emitter.
    provider.on('server_error', () => {})
    handler = provider.callback() as unknown as typeof handler
  })

  afterAll(async () => {
    await as.close()
  })

  const entry = (overrides: Partial<OAuth2Injection> = {}): OAuth2Injection =>
    Object.freeze({
      type: 'oauth2',
      tokenUrl: `${as.origin}/token`,
      clientId: 'basic-client',
      clientSecret: CLIENT_SECRET,
      ...overrides,
    }) as OAuth2Injection

  it('obtains a token with client credentials (Basic and post), sends it as Bearer, caches it, lists it as a secret', async () => {
    for (const credential of [
      entry(),
      entry({ clientId: 'post-client', auth: 'client_secret_post', scope: 'api:read' }),
    ]) {
      const oauth2 = createOAuth2Injector()
      const before = as.tokenRequests
      const request = outgoing('https://api.example.com/v1')
      const applied = await oauth2.apply(request, credential, context({ issuerKid: 'issuer-a' }))
      const token = request.headers.get('authorization')!.replace(/^Bearer /, '')
      expect(token.length).toBeGreaterThan(20)
      expect(applied).toEqual({ secrets: [token] })
      expect(oauth2.secrets(credential)).toEqual([CLIENT_SECRET, token])
      // The token is real: the server's introspection knows it.
      expect(await provider.ClientCredentials.find(token)).toBeTruthy()
      const again = outgoing('https://api.example.com/v1')
      await oauth2.apply(again, credential, context({ issuerKid: 'issuer-a' }))
      expect(again.headers.get('authorization')).toBe(`Bearer ${token}`)
      expect(as.tokenRequests - before).toBe(1)
    }
  })

  it('asks once for 50 concurrent requests, and keeps issuers apart', async () => {
    const oauth2 = createOAuth2Injector()
    const credential = entry()
    const before = as.tokenRequests
    const requests = Array.from({ length: 50 }, () => outgoing('https://api.example.com/'))
    await Promise.all(requests.map((r) => oauth2.apply(r, credential, context({ issuerKid: 'issuer-a' }))))
    expect(as.tokenRequests - before).toBe(1)
    expect(new Set(requests.map((r) => r.headers.get('authorization'))).size).toBe(1)
    const other = outgoing('https://api.example.com/')
    await oauth2.apply(other, credential, context({ issuerKid: 'issuer-b' }))
    expect(as.tokenRequests - before).toBe(2)
    expect(other.headers.get('authorization')).not.toBe(requests[0]!.headers.get('authorization'))
  })

  it('refreshes 60 s before expiry, and after invalidate()', async () => {
    const oauth2 = createOAuth2Injector()
    const credential = entry()
    let now = Date.now()
    const ctx = context({ now: () => now, issuerKid: 'issuer-a' })
    const before = as.tokenRequests
    const first = outgoing('https://api.example.com/')
    await oauth2.apply(first, credential, ctx)
    now += (3600 - 61) * 1000
    const stillCached = outgoing('https://api.example.com/')
    await oauth2.apply(stillCached, credential, ctx)
    expect(as.tokenRequests - before).toBe(1)
    now += 2000
    const refreshed = outgoing('https://api.example.com/')
    await oauth2.apply(refreshed, credential, ctx)
    expect(as.tokenRequests - before).toBe(2)
    expect(refreshed.headers.get('authorization')).not.toBe(first.headers.get('authorization'))
    await oauth2.invalidate(credential, 'issuer-a')
    const afterInvalidate = outgoing('https://api.example.com/')
    await oauth2.apply(afterInvalidate, credential, ctx)
    expect(as.tokenRequests - before).toBe(3)
    expect(afterInvalidate.headers.get('authorization')).not.toBe(refreshed.headers.get('authorization'))
  })

  it('keeps masking a token a refresh replaced until it expires (it still works upstream)', async () => {
    const oauth2 = createOAuth2Injector()
    const credential = entry()
    let now = Date.now()
    const ctx = context({ now: () => now })
    const bearer = (request: { headers: Headers }) =>
      request.headers.get('authorization')?.slice('Bearer '.length)
    const first = outgoing('https://api.example.com/')
    expect((await oauth2.apply(first, credential, ctx))?.secrets).toEqual([bearer(first)])
    now += (3600 - 59) * 1000 // inside the last minute: refreshed
    const second = outgoing('https://api.example.com/')
    const secrets = (await oauth2.apply(second, credential, ctx))?.secrets
    expect(bearer(second)).not.toBe(bearer(first))
    expect(secrets).toEqual([bearer(second), bearer(first)])
    now += 59_000 + 60_000 // the first token's expiry and the minute of clock allowance have passed
    const third = outgoing('https://api.example.com/')
    expect((await oauth2.apply(third, credential, ctx))?.secrets).toEqual([bearer(second)])
  })

  it('uses the refresh-token grant when the entry has a refresh token', async () => {
    const grant = new provider.Grant({ accountId: 'user-1', clientId: 'basic-client' })
    grant.addOIDCScope('openid offline_access')
    const grantId = await grant.save()
    const client = await provider.Client.find('basic-client')
    const refreshToken = await new provider.RefreshToken({
      client,
      accountId: 'user-1',
      grantId,
      scope: 'openid offline_access',
      gty: 'authorization_code',
    } as never).save()
    const oauth2 = createOAuth2Injector()
    const credential = entry({ refreshToken })
    const request = outgoing('https://api.example.com/')
    await oauth2.apply(request, credential, context())
    const token = request.headers.get('authorization')!.replace(/^Bearer /, '')
    const stored = await provider.AccessToken.find(token)
    expect(stored?.accountId).toBe('user-1')
    expect(oauth2.secrets(credential)).toContain(refreshToken)
    expect(oauth2.secrets(credential)).toContain(token)
  })

  it('fails with upstream_unreachable, saying nothing the endpoint said, on a wrong secret or a stopped server', async () => {
    const oauth2 = createOAuth2Injector()
    const wrong = entry({ clientSecret: `${CLIENT_SECRET}-wrong` })
    const error = await rejection(
      Promise.resolve(oauth2.apply(outgoing('https://api.example.com/'), wrong, context())),
    )
    expect(error.code).toBe('upstream_unreachable')
    expect(error.reason).toBe('token_endpoint_status')
    expect(`${error.message} ${String(error.cause ?? '')}`).not.toMatch(/TOPSECRET|invalid_client/)

    const stopped = await listen(() => {})
    await stopped.close()
    const gone = await rejection(
      Promise.resolve(
        oauth2.apply(
          outgoing('https://api.example.com/'),
          entry({ tokenUrl: `${stopped.origin}/token` }),
          context(),
        ),
      ),
    )
    expect(gone.code).toBe('upstream_unreachable')
    expect(gone.message).not.toContain(CLIENT_SECRET)
  })

  it('lets the engine refuse the token URL before anything is sent', async () => {
    const oauth2 = createOAuth2Injector()
    const before = as.tokenRequests
    const error = await rejection(
      Promise.resolve(
        oauth2.apply(
          outgoing('https://api.example.com/'),
          entry(),
          context({
            checkUrl: () => {
              throw new KeyholeError('host_not_allowed', 'outside the issuer scope')
            },
          }),
        ),
      ),
    )
    expect(error.code).toBe('host_not_allowed')
    expect(as.tokenRequests).toBe(before)
  })
})

describe('oauth2 against misbehaving token endpoints', () => {
  let edge: Listening
  let mode: 'redirect' | 'huge' | 'echo' | 'not-json' | 'dpop' | 'short' | 'ok' = 'ok'

  beforeAll(async () => {
    edge = await listen((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => {
        body += chunk
      })
      req.on('end', () => {
        edge.bodies.push(body)
        if (mode === 'redirect') {
          res.writeHead(302, { location: '/elsewhere' }).end()
        } else if (mode === 'huge') {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(
            JSON.stringify({ access_token: 'a'.repeat(MAX_TOKEN_RESPONSE_BYTES), token_type: 'Bearer' }),
          )
        } else if (mode === 'echo') {
          res
            .writeHead(400, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: body, auth: req.headers.authorization }))
        } else if (mode === 'not-json') {
          res.writeHead(200, { 'content-type': 'text/html' }).end(`<p>${req.headers.authorization}</p>`)
        } else if (mode === 'dpop') {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end('{"access_token":"tok","token_type":"DPoP"}')
        } else if (mode === 'short') {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end('{"access_token":"short-lived","expires_in":"40"}')
        } else {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end('{"access_token":"ok-token","token_type":"bearer","expires_in":3600}')
        }
      })
    })
  })

  afterAll(async () => {
    await edge.close()
  })

  const entry = (): OAuth2Injection =>
    Object.freeze({
      type: 'oauth2',
      tokenUrl: `${edge.origin}/token`,
      clientId: 'c',
      clientSecret: CLIENT_SECRET,
    }) as OAuth2Injection

  it.each([
    ['redirect', 'token_endpoint_redirect'],
    ['huge', 'token_endpoint_too_large'],
    ['echo', 'token_endpoint_status'],
    ['not-json', 'token_endpoint_answer'],
    ['dpop', 'token_endpoint_token_type'],
  ] as const)(
    'refuses a %s answer as upstream_unreachable (%s), with no secret in the error',
    async (which, reason) => {
      mode = which
      const error = await rejection(
        Promise.resolve(
          createOAuth2Injector().apply(outgoing('https://api.example.com/'), entry(), context()),
        ),
      )
      expect(isKeyholeError(error, 'upstream_unreachable')).toBe(true)
      expect(error.reason).toBe(reason)
      expect(JSON.stringify({ message: error.message, cause: String(error.cause ?? '') })).not.toMatch(
        /TOPSECRET|client_credentials/,
      )
    },
  )

  it('sends the client-credentials form and never follows a redirect', async () => {
    mode = 'redirect'
    const before = edge.tokenRequests
    await Promise.resolve(
      createOAuth2Injector().apply(outgoing('https://api.example.com/'), entry(), context()),
    ).catch(() => {})
    expect(edge.tokenRequests - before).toBe(1)
    expect(edge.bodies.at(-1)).toBe('grant_type=client_credentials')
  })

  it('refreshes a short-lived token at half its lifetime', async () => {
    mode = 'short'
    const oauth2 = createOAuth2Injector()
    let now = 1_000_000
    const ctx = context({ now: () => now })
    const before = edge.tokenRequests
    await oauth2.apply(outgoing('https://api.example.com/'), entry(), ctx)
    now += 19_000
    await oauth2.apply(outgoing('https://api.example.com/'), entry(), ctx)
    expect(edge.tokenRequests - before).toBe(1)
    now += 2_000
    await oauth2.apply(outgoing('https://api.example.com/'), entry(), ctx)
    expect(edge.tokenRequests - before).toBe(2)
  })
})

describe('oauth2 validation', () => {
  const oauth2 = createOAuth2Injector()
  const valid = { tokenUrl: 'https://auth.example.com/token', clientId: 'c', clientSecret: CLIENT_SECRET }

  it('accepts https and an explicit http URL; refuses other schemes, user info, fragments, CR/LF', () => {
    expect(() => oauth2.validate(valid, 'inject[0]')).not.toThrow()
    expect(() =>
      oauth2.validate({ ...valid, tokenUrl: 'http://127.0.0.1:9/token' }, 'inject[0]'),
    ).not.toThrow()
    for (const bad of [
      { ...valid, tokenUrl: 'ftp://auth.example.com/token' },
      { ...valid, tokenUrl: '/token' },
      { ...valid, tokenUrl: `https://user:${CLIENT_SECRET}@auth.example.com/token` },
      { ...valid, tokenUrl: 'https://auth.example.com/token#x' },
      { ...valid, clientSecret: `${CLIENT_SECRET}\r\n` },
      { ...valid, scope: 'a\tb' },
      { ...valid, auth: 'private_key_jwt' },
      { ...valid, clientId: undefined },
    ]) {
      let error: unknown
      try {
        oauth2.validate(bad, 'inject[0]')
      } catch (e) {
        error = e
      }
      expect(isKeyholeError(error, 'invalid_grant')).toBe(true)
      expect((error as Error).message).not.toContain(CLIENT_SECRET)
    }
  })
})
