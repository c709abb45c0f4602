// Through the real engine to a real upstream on 127.0.0.1: headers that would re-route a request
// or claim a client address never arrive, and a method override never gets past `methods`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey } from '../../src/keys/generate-key.js'
import { toPublicJwk } from '../../src/keys/jwk.js'
import { createKeyring } from '../../src/keys/keyring.js'
import { mint } from '../../src/mint.js'
import { createOpener, type Opener } from '../../src/open/opener.js'
import { CLIENT_ADDRESS_HEADERS, REROUTING_HEADERS } from '../../src/policy/header-rules.js'
import { createProxy, type ProxyHandler } from '../../src/proxy/create-proxy.js'
import { createFetchForwarder } from '../../src/proxy/forward-fetch.js'
import type { KeyholeIssuerPrivateJwk, Policy, PublicJwks } from '../../src/types.js'
import { startUpstream, type Upstream } from '../kit/index.js'

let upstream: Upstream
let jwks: PublicJwks
let issuer: KeyholeIssuerPrivateJwk
let opener: Opener
let handle: ProxyHandler

beforeAll(async () => {
  upstream = await startUpstream()
  const keyring = createKeyring([await generateKey()])
  jwks = keyring.publicJwks()
  issuer = await generateKey({ use: 'sig' })
  opener = createOpener({ keyring, issuers: [toPublicJwk(issuer)] })
  // fetch cannot check the address it dials, so the proxy is bound to this suite's upstream.
  // scrub: false: this suite checks stripping; scrubbing (which also drops Range) has its own suite.
  handle = createProxy({
    opener,
    forward: createFetchForwarder(),
    allowHosts: [upstream.origin],
    scrub: false,
  })
})

afterAll(() => upstream.close())

function token(policy: Omit<Policy, 'hosts'> = {}): Promise<string> {
  return mint(
    {
      hosts: [upstream.origin],
      inject: [{ in: 'header', name: 'Authorization', value: 'Bearer upstream-secret' }],
      ttl: '5m',
      ...policy,
    },
    { to: jwks, signWith: issuer },
  )
}

function call(path: string, init: RequestInit = {}): Promise<Response> {
  return handle(new Request(`http://keyhole.test${path}`, init), { path })
}

describe('headers the engine never forwards', () => {
  it('drops method-override, URL-rewrite and client-address headers, keeps the rest', async () => {
    const t = await token()
    const sent: Record<string, string> = { 'x-keyhole-token': t, 'x-custom': 'kept', range: 'bytes=0-1' }
    for (const name of [...REROUTING_HEADERS, ...CLIENT_ADDRESS_HEADERS]) sent[name] = `${name}-value`
    sent['x-http-method-override'] = 'DELETE'
    sent['x-original-url'] = '/admin'
    const before = upstream.received.length
    const res = await call(`/http/127.0.0.1:${upstream.port}/echo/strip`, { headers: sent })
    expect(res.status).toBe(200)
    await res.arrayBuffer()
    expect(upstream.received.length).toBe(before + 1)
    const got = upstream.received.at(-1)!
    for (const name of [...REROUTING_HEADERS, ...CLIENT_ADDRESS_HEADERS]) {
      expect(got.headers[name], name).toBeUndefined()
    }
    expect(got.method).toBe('GET')
    expect(got.url).toBe('/echo/strip')
    expect(got.headers['x-custom']).toBe('kept')
    expect(got.headers.authorization).toBe('Bearer upstream-secret')
    // Range is only dropped while scrubbing bodies, which this proxy turns off.
    expect(got.headers.range).toBe('bytes=0-1')
  })

  it('refuses a _method query parameter naming a method the grant does not allow', async () => {
    const t = await token({ methods: ['POST'] })
    const before = upstream.received.length
    const refused = await call(`/http/127.0.0.1:${upstream.port}/echo/x?_method=delete`, {
      method: 'POST',
      headers: { 'x-keyhole-token': t },
      body: 'x',
    })
    expect(refused.status).toBe(403)
    expect(refused.headers.get('x-keyhole-error')).toBe('method_not_allowed')
    await refused.arrayBuffer()
    expect(upstream.received.length).toBe(before)
    const allowed = await call(`/http/127.0.0.1:${upstream.port}/echo/x?_method=post`, {
      method: 'POST',
      headers: { 'x-keyhole-token': t },
      body: 'x',
    })
    expect(allowed.status).toBe(200)
    await allowed.arrayBuffer()
    expect(upstream.received.length).toBe(before + 1)
  })
})
