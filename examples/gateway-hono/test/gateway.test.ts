import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import {
  createKeyring,
  generateKey,
  type KeyholeIssuerPrivateJwk,
  type Keyring,
  mint,
  toPublicJwk,
} from '@keyhole/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.mjs'

const CREDENTIAL = 'ghp_example-hono-credential-4d7a'
const ADMIN = 'example-admin-token-0f1e2d3c4b5a'
let keyring: Keyring
let issuer: KeyholeIssuerPrivateJwk
let upstream: Server
let upstreamOrigin: string
const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = []
let gateway: ServerType
let base: string
let closeApp: () => void
const logged: string[] = []

const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  )

beforeAll(async () => {
  keyring = createKeyring([await generateKey()])
  issuer = await generateKey({ use: 'sig' })
  upstream = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers })
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ login: 'octocat', path: req.url }))
  })
  upstreamOrigin = await listen(upstream)
  const built = createApp({
    keyring,
    issuers: [toPublicJwk(issuer)],
    upstream: upstreamOrigin,
    adminToken: ADMIN,
    log: (line) => logged.push(line),
  })
  closeApp = built.close
  base = await new Promise<string>((resolve) => {
    gateway = serve({ fetch: built.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    )
  })
})
afterAll(async () => {
  closeApp()
  await new Promise((resolve) => gateway.close(resolve))
  await new Promise((resolve) => upstream.close(resolve))
})

const tokenFor = (grant: Partial<Parameters<typeof mint>[0]> = {}) =>
  mint(
    {
      hosts: [upstreamOrigin],
      inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${CREDENTIAL}` }],
      ttl: '5m',
      sub: 'example',
      ...grant,
    },
    { to: keyring.publicJwks(), signWith: issuer },
  )

describe('examples/gateway-hono', () => {
  it("keeps the API's own routes working", async () => {
    expect(await (await fetch(`${base}/api/status`)).json()).toEqual({ service: 'notes', ok: true })
    const created = await fetch(`${base}/api/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'hello' }),
    })
    expect(created.status).toBe(201)
  })

  it('forwards /github/* to the upstream with the real credential (gateway mode)', async () => {
    const token = await tokenFor({ paths: ['/user', '/repos/acme/**'] })
    const response = await fetch(`${base}/github/user?per_page=5`, { headers: { 'x-keyhole-token': token } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ login: 'octocat', path: '/user?per_page=5' })
    const request = seen.at(-1)
    expect(request?.headers.authorization).toBe(`Bearer ${CREDENTIAL}`)
    expect(request?.headers['x-keyhole-token']).toBeUndefined()

    const outside = await fetch(`${base}/github/admin`, { headers: { 'x-keyhole-token': token } })
    expect(outside.status).toBe(403)
    expect(outside.headers.get('x-keyhole-error')).toBe('path_not_allowed')
  })

  it('also proxies in open mode under /proxy, and refuses hosts the token does not name', async () => {
    const token = await tokenFor()
    const hostPort = new URL(upstreamOrigin).host
    const ok = await fetch(`${base}/proxy/http/${hostPort}/user`, { headers: { 'x-keyhole-token': token } })
    expect(ok.status).toBe(200)
    const other = await fetch(`${base}/proxy/https/example.com/`, { headers: { 'x-keyhole-token': token } })
    expect(other.status).toBe(403)
    expect(other.headers.get('x-keyhole-error')).toBe('host_not_allowed')
  })

  it('serves its JWKS, and revokes through its admin route', async () => {
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ kid: string }>
    }
    expect(jwks.keys.map((key) => key.kid)).toEqual(keyring.kids())

    const token = await tokenFor()
    expect((await fetch(`${base}/github/user`, { headers: { 'x-keyhole-token': token } })).status).toBe(200)
    const jti = logged.at(-1)?.match(/jti=(\S+)/)?.[1] as string
    const revoked = await fetch(`${base}/keyhole/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jti, exp: Math.floor(Date.now() / 1000) + 600 }),
    })
    expect(revoked.status).toBe(200)
    const refused = await fetch(`${base}/github/user`, { headers: { 'x-keyhole-token': token } })
    expect(refused.status).toBe(403)
    expect(refused.headers.get('x-keyhole-error')).toBe('token_revoked')
    for (const line of logged) expect(line).not.toContain(CREDENTIAL)
  })
})
