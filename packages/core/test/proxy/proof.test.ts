// Proof of possession end to end: a key-bound token through the real engine and the node
// forwarder to a real upstream on 127.0.0.1, proofs made by @keyhole/client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFetch, createProof, generateProofKey, type ProofKey } from '../../../client/src/index.js'
import { attenuate } from '../../src/attenuate.js'
import { generateKey } from '../../src/keys/generate-key.js'
import { createKeyring, type Keyring } from '../../src/keys/keyring.js'
import { mint } from '../../src/mint.js'
import { createNodeForwarder } from '../../src/node/node-forwarder.js'
import { createOpener } from '../../src/open/opener.js'
import { createProxy, type ProxyHandler } from '../../src/proxy/create-proxy.js'
import type { ProxyEvent } from '../../src/proxy/events.js'
import { startUpstream, type Upstream } from '../kit/index.js'
import { testIssuer, testIssuers } from '../kit/issuer.js'

const SECRET = 'ghp_PROOFSECRET0123456789abcdef'
let upstream: Upstream
let keyring: Keyring
let proxy: ProxyHandler
let holder: ProofKey
let bound: string
const events: ProxyEvent[] = []

beforeAll(async () => {
  upstream = await startUpstream()
  keyring = createKeyring([await generateKey()])
  holder = await generateProofKey()
  bound = await mint(
    {
      hosts: [`http://127.0.0.1:${upstream.port}`],
      inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }],
      ttl: '10m',
      bindKey: holder.publicJwk,
    },
    { to: keyring.publicJwks(), signWith: testIssuer },
  )
  proxy = createProxy({
    opener: createOpener({ keyring, issuers: testIssuers }),
    forward: createNodeForwarder(),
    onEvent: (event) => {
      events.push(event)
    },
  })
})
afterAll(() => upstream.close())

function send(path: string, headers: Record<string, string>, method = 'GET'): Promise<Response> {
  const url = `http://proxy.test/http/127.0.0.1:${upstream.port}${path}`
  return proxy(new Request(url, { method, headers }))
}

const target = (path: string) => `http://127.0.0.1:${upstream.port}${path}`

describe('a key-bound token through the engine', () => {
  it('passes with a fresh proof, and the proof is not forwarded', async () => {
    const before = upstream.received.length
    const proof = await createProof(holder, { method: 'GET', url: target('/echo/a?x=1'), token: bound })
    const response = await send('/echo/a?x=1', { 'x-keyhole-token': bound, 'keyhole-proof': proof })
    expect(response.status).toBe(200)
    // The event of a scrubbed response waits until its body has been read through.
    await response.text()
    const seen = upstream.received[before]!
    expect(seen.headers.authorization).toBe(`Bearer ${SECRET}`)
    expect(seen.headers['keyhole-proof']).toBeUndefined()
    expect(events.at(-1)?.timings.proof).toBeGreaterThanOrEqual(0)
  })

  it('refuses a missing, replayed, wrong-target or wrong-method proof with 401 invalid_proof and the DPoP challenge', async () => {
    const before = upstream.received.length
    const proof = await createProof(holder, { method: 'GET', url: target('/echo/b'), token: bound })
    expect((await send('/echo/b', { 'x-keyhole-token': bound, 'keyhole-proof': proof })).status).toBe(200)
    const cases: [string, Record<string, string>, string?][] = [
      ['/echo/b', { 'x-keyhole-token': bound }],
      ['/echo/b', { 'x-keyhole-token': bound, 'keyhole-proof': proof }],
      [
        '/echo/other',
        {
          'x-keyhole-token': bound,
          'keyhole-proof': await createProof(holder, { method: 'GET', url: target('/echo/b'), token: bound }),
        },
      ],
      [
        '/echo/b',
        {
          'x-keyhole-token': bound,
          'keyhole-proof': await createProof(holder, { method: 'GET', url: target('/echo/b'), token: bound }),
        },
        'POST',
      ],
      // A proof for the proxy's own URL instead of the target.
      [
        '/echo/b',
        {
          'x-keyhole-token': bound,
          'keyhole-proof': await createProof(holder, {
            method: 'GET',
            url: `http://proxy.test/http/127.0.0.1:${upstream.port}/echo/b`,
            token: bound,
          }),
        },
      ],
    ]
    for (const [path, headers, method] of cases) {
      const response = await send(path, headers, method)
      expect(response.status).toBe(401)
      expect(response.headers.get('x-keyhole-error')).toBe('invalid_proof')
      expect(response.headers.get('www-authenticate')).toBe(
        'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"',
      )
      expect(events.at(-1)?.outcome).toBe('invalid_proof')
    }
    expect(upstream.received.length).toBe(before + 1)
  })

  it('a thief with the token but another key gets nothing', async () => {
    const thief = await generateProofKey({ alg: 'EdDSA' })
    const proof = await createProof(thief, { method: 'GET', url: target('/echo/c'), token: bound })
    const response = await send('/echo/c', { 'x-keyhole-token': bound, 'keyhole-proof': proof })
    expect(response.headers.get('x-keyhole-error')).toBe('invalid_proof')
  })

  it('createFetch signs the htu the proxy checks when the host is written with a trailing dot', async () => {
    const local = await mint(
      {
        hosts: [`http://localhost:${upstream.port}`],
        inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }],
        ttl: '10m',
        bindKey: holder.publicJwk,
      },
      { to: keyring.publicJwks(), signWith: testIssuer },
    )
    const lenient = createProxy({
      opener: createOpener({ keyring, issuers: testIssuers }),
      forward: createNodeForwarder({ allowPrivateAddresses: true }),
      allowPrivateAddresses: true,
    })
    const fetch = createFetch({
      proxy: 'http://proxy.test',
      tokens: [local],
      proofKey: holder,
      fetch: (input, init) => lenient(new Request(input, init)),
    })
    for (const host of [`localhost.:${upstream.port}`, `LocalHost:${upstream.port}`]) {
      const response = await fetch(`http://${host}/echo/dot`)
      expect({ host, status: response.status }).toEqual({ host, status: 200 })
      await response.text()
    }
  })

  it('createFetch with proofKey makes every call pass, a narrowed bound token included', async () => {
    const fetch = createFetch({
      proxy: 'http://proxy.test',
      tokens: [bound],
      proofKey: holder,
      fetch: (input, init) => proxy(new Request(input, init)),
    })
    for (let i = 0; i < 3; i++) expect((await fetch(target(`/echo/f${i}`))).status).toBe(200)
    const narrow = await attenuate(bound, { methods: ['GET'] }, { to: keyring.publicJwks() })
    const narrowFetch = createFetch({
      proxy: 'http://proxy.test',
      tokens: [narrow],
      proofKey: holder,
      fetch: (input, init) => proxy(new Request(input, init)),
    })
    expect((await narrowFetch(target('/echo/n'))).status).toBe(200)
    expect(
      (await narrowFetch(target('/echo/n'), { method: 'POST', body: 'x' })).headers.get('x-keyhole-error'),
    ).toBe('method_not_allowed')
  })

  it('createFetch in gateway mode signs proofs for the upstream, whether it calls the upstream or the gateway URL', async () => {
    const gateway = createProxy({
      opener: createOpener({ keyring, issuers: testIssuers }),
      forward: createNodeForwarder(),
      upstream: target('/echo'),
    })
    // Mounted at /github: the engine sees the path below the mount, as an adapter hands it over.
    const mounted = (input: string | URL | Request, init?: RequestInit) => {
      const request = new Request(input, init)
      const url = new URL(request.url)
      expect(url.origin).toBe('http://gw.test')
      return gateway(request, { path: `${url.pathname.slice('/github'.length)}${url.search}` })
    }
    const fetch = createFetch({
      proxy: 'http://gw.test/github',
      upstream: target('/echo'),
      tokens: [bound],
      proofKey: holder,
      fetch: mounted,
    })
    const before = upstream.received.length
    const viaUpstreamUrl = await fetch(target('/echo/g1?q=1'))
    expect(viaUpstreamUrl.status).toBe(200)
    await viaUpstreamUrl.text()
    expect(upstream.received[before]?.url).toBe('/echo/g1?q=1')
    const viaGatewayUrl = await fetch('http://gw.test/github/g2', { method: 'POST', body: 'x' })
    expect(viaGatewayUrl.status).toBe(200)
    await viaGatewayUrl.text()
    expect(upstream.received[before + 1]?.url).toBe('/echo/g2')
    // A proof for the gateway's own URL (what a wrapper without `upstream` would sign) is refused.
    const wrongHtu = await createProof(holder, {
      method: 'GET',
      url: 'http://gw.test/github/g3',
      token: bound,
    })
    const refused = await mounted('http://gw.test/github/g3', {
      headers: { 'x-keyhole-token': bound, 'keyhole-proof': wrongHtu },
    })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('x-keyhole-error')).toBe('invalid_proof')
    // A URL under neither base is not sent anywhere.
    await expect(fetch('http://elsewhere.test/x')).rejects.toMatchObject({
      code: 'no_token_for_host',
      message:
        "no keyhole token for http://elsewhere.test (outside the gateway's upstream); the request was not sent",
    })
  })

  it('an unbound token ignores a proof header and never forwards it', async () => {
    const unbound = await mint(
      {
        hosts: [`http://127.0.0.1:${upstream.port}`],
        inject: [{ in: 'header', name: 'X-Key', value: SECRET }],
        ttl: '10m',
      },
      { to: keyring.publicJwks(), signWith: testIssuer },
    )
    const before = upstream.received.length
    const response = await send('/echo/u', { 'x-keyhole-token': unbound, 'keyhole-proof': 'garbage' })
    expect(response.status).toBe(200)
    expect(upstream.received[before]!.headers['keyhole-proof']).toBeUndefined()
  })
})
