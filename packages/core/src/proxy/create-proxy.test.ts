import { describe, expect, it } from 'vitest'
import { isKeyholeError } from '../errors.js'
import { generateKey } from '../keys/generate-key.js'
import { toPublicJwk } from '../keys/jwk.js'
import { createKeyring } from '../keys/keyring.js'
import { mint } from '../mint.js'
import { createOpener } from '../open/opener.js'
import type { Grant } from '../types.js'
import { createProxy } from './create-proxy.js'
import type { ProxyEvent } from './events.js'
import type { ForwardInit } from './forward-fetch.js'

// Engine behaviour that needs no network: the forwarder here records what it would have sent.
// End-to-end behaviour against real servers lives in test/proxy/.
const grant = Object.freeze({
  jti: 'jti-1',
  iat: 0,
  exp: 4_000_000_000,
  kid: 'kid-1',
  issuerKid: 'issuer-1',
  hosts: ['api.example.com'],
  inject: [{ in: 'header', name: 'Authorization', value: 'Bearer real' }],
}) as Grant
const TOKEN = 'eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.a2V5.aXY.Y2lwaGVy.dGFn'
const opener = {
  async open(token: string) {
    if (token !== TOKEN)
      throw Object.assign(new Error('bad'), { name: 'KeyholeError', code: 'invalid_token' })
    return grant
  },
}

// A plain function forwarder checks no dialed address, so these proxies bound their targets.
const ALLOW = ['api.example.com', 'http://api.example.com', 'http://10.0.0.5:8080']

function recorder(response: () => Response = () => new Response('ok')) {
  const sent: { url: string; init: ForwardInit }[] = []
  const forward = async (url: string, init: ForwardInit) => {
    sent.push({ url, init })
    return response()
  }
  return { sent, forward }
}

describe('createProxy', () => {
  it('needs an opener and valid token header names', () => {
    expect(() => createProxy({} as never)).toThrow()
    for (const tokenHeaders of [['bad name'], ['x-ok', '']]) {
      try {
        createProxy({ opener, tokenHeaders, allowHosts: ALLOW })
        expect.unreachable()
      } catch (error) {
        expect(isKeyholeError(error, 'bad_request')).toBe(true)
      }
    }
  })

  it('ignores Authorization and X-Keyhole-Token in tokenHeaders (they are read already)', async () => {
    const { sent, forward } = recorder()
    const handle = createProxy({
      opener,
      forward,
      allowHosts: ALLOW,
      tokenHeaders: ['Authorization', 'X-Keyhole-Token', 'x-api-key'],
    })
    const res = await handle(
      new Request('http://p/https/api.example.com/v1', { headers: { authorization: `Bearer ${TOKEN}` } }),
    )
    expect(res.status).toBe(200)
    expect(sent[0]?.url).toBe('https://api.example.com/v1')
    expect(sent[0]?.init.headers.Authorization).toBe('Bearer real')
  })

  it('opens a token sent as a Proxy-Authorization password and forwards neither it nor the header', async () => {
    const { sent, forward } = recorder()
    const handle = createProxy({ opener, forward, allowHosts: ALLOW })
    const res = await handle(
      new Request('http://p/https/api.example.com/v1', {
        headers: { 'proxy-authorization': `Basic ${btoa(`keyhole:${TOKEN}`)}` },
      }),
    )
    expect(res.status).toBe(200)
    const forwarded = JSON.stringify(sent[0]?.init.headers)
    expect(forwarded).not.toContain(TOKEN)
    expect(forwarded.toLowerCase()).not.toContain('proxy-authorization')
    expect(sent[0]?.init.headers.Authorization).toBe('Bearer real')
  })

  it('answers a refused target without echoing any of it', async () => {
    const { sent, forward } = recorder()
    const marker = 'zq7echo'
    const handle = createProxy({ opener, forward, allowHosts: [...ALLOW, `${marker}.example.com`] })
    for (const path of [
      `/https/${marker}.example.com/x`, // allowed by the proxy, not by the grant
      `/https/${marker}.example.net:8443/x`, // allowed by neither
      `/http/api.example.com:81/${marker}`,
    ]) {
      const res = await handle(new Request(`http://p${path}`, { headers: { 'x-keyhole-token': TOKEN } }))
      expect(res.status).toBe(403)
      expect(res.headers.get('x-keyhole-error')).toBe('host_not_allowed')
      expect(await res.text()).not.toContain(marker)
    }
    expect(sent).toHaveLength(0)
  })

  it('reads the target from request.url when no path is given, and times the request itself for plain forwarders', async () => {
    const { sent, forward } = recorder()
    const handle = createProxy({ opener, forward, timeout: '5s', allowHosts: ALLOW })
    const res = await handle(
      new Request('http://p/https/api.example.com/a%2Fb?q=1', { headers: { 'x-keyhole-token': TOKEN } }),
    )
    expect(res.status).toBe(200)
    expect(sent[0]?.url).toBe('https://api.example.com/a%2Fb?q=1')
    expect(sent[0]?.init.signal).toBeInstanceOf(AbortSignal)
    expect(sent[0]?.init.keyhole?.timeout).toBeUndefined()
    expect(sent[0]?.init.redirect).toBe('manual')
    expect(sent[0]?.init.body).toBeNull()
  })

  it('answers 504 when a forwarder does not answer within the timeout', async () => {
    const handle = createProxy({
      opener,
      allowHosts: ALLOW,
      timeout: '20ms',
      forward: (_url, init) =>
        new Promise((_resolve, reject) =>
          init.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
        ),
    })
    const res = await handle(
      new Request('http://p/https/api.example.com/', { headers: { 'x-keyhole-token': TOKEN } }),
    )
    expect(res.status).toBe(504)
    expect(res.headers.get('x-keyhole-error')).toBe('upstream_timeout')
  })

  it('maps a forwarder that throws synchronously or rejects with anything to 502', async () => {
    for (const forward of [
      () => {
        throw new TypeError('sync bug')
      },
      () => Promise.reject('not even an error'),
    ]) {
      const handle = createProxy({ opener, forward: forward as never, allowHosts: ALLOW })
      const res = await handle(
        new Request('http://p/https/api.example.com/', { headers: { 'x-keyhole-token': TOKEN } }),
      )
      expect(res.status).toBe(502)
      expect(res.headers.get('x-keyhole-error')).toBe('upstream_unreachable')
    }
  })

  it('checks every request against the grant, whatever the request before it was', async () => {
    // The engine remembers the last target each grant was authorized for; a different path,
    // method or host must still be judged by the policy, and a sibling proxy with other address
    // rules must not inherit the answer.
    const scoped = Object.freeze({
      ...grant,
      jti: 'jti-scoped',
      hosts: ['api.example.com', 'http://10.0.0.5:8080'],
      paths: ['/ok'],
      methods: ['GET'],
    }) as Grant
    const scopedOpener = { open: async () => scoped }
    const { sent, forward } = recorder()
    const open = createProxy({ opener: scopedOpener, forward, allowHosts: ALLOW })
    // The same grant on a proxy whose operator bound excludes the private address.
    const strict = createProxy({ opener: scopedOpener, forward, allowHosts: ['api.example.com'] })
    const request = (method: string, path: string) =>
      new Request(`http://p${path}`, { method, headers: { 'x-keyhole-token': TOKEN } })
    const outcomes: [number, string | null][] = []
    for (const [handle, method, path] of [
      [open, 'GET', '/https/api.example.com/ok'],
      [open, 'GET', '/https/api.example.com/ok'],
      [open, 'DELETE', '/https/api.example.com/ok'],
      [open, 'GET', '/https/api.example.com/no'],
      [open, 'GET', '/https/api.example.com/ok'],
      [open, 'GET', '/http/api.example.com/ok'],
      [open, 'GET', '/http/10.0.0.5:8080/ok'],
      [strict, 'GET', '/http/10.0.0.5:8080/ok'],
      [open, 'GET', '/http/10.0.0.5:8080/ok'],
    ] as const) {
      const res = await handle(request(method, path))
      outcomes.push([res.status, res.headers.get('x-keyhole-error')])
    }
    expect(outcomes).toEqual([
      [200, null],
      [200, null],
      [403, 'method_not_allowed'],
      [403, 'path_not_allowed'],
      [200, null],
      [403, 'host_not_allowed'],
      [200, null],
      [403, 'host_not_allowed'],
      [200, null],
    ])
    expect(sent.map((s) => s.url)).toEqual([
      'https://api.example.com/ok',
      'https://api.example.com/ok',
      'https://api.example.com/ok',
      'http://10.0.0.5:8080/ok',
      'http://10.0.0.5:8080/ok',
    ])
    expect(sent.map((s) => s.init.keyhole?.privateAddresses)).toEqual([false, false, false, true, true])
  })

  it('names the token in the event of a token refused after opening (revoked, expired)', async () => {
    const keyring = createKeyring([await generateKey()])
    const issuer = await generateKey({ use: 'sig' })
    let now = Date.now()
    const opener = createOpener({
      keyring,
      issuers: [toPublicJwk(issuer)],
      now: () => now,
      clockTolerance: 0,
    })
    const token = await mint(
      {
        hosts: ['api.example.com'],
        inject: [{ in: 'header', name: 'Authorization', value: 'Bearer sk-event-secret' }],
        ttl: '10m',
        sub: 'agent-7',
      },
      { to: keyring.publicJwks(), signWith: issuer },
    )
    const events: ProxyEvent[] = []
    const { forward } = recorder()
    const handle = createProxy({
      opener,
      forward,
      allowHosts: ['api.example.com'],
      onEvent: (event) => {
        events.push(event)
      },
    })
    const send = () =>
      handle(new Request('http://p/https/api.example.com/x', { headers: { 'x-keyhole-token': token } }))
    const ok = await send()
    expect(ok.status).toBe(200)
    // The event of a scrubbed response waits until its body has been read through.
    await ok.text()
    const { jti, exp } = await opener.open(token)
    await opener.revocations.revoke(jti, new Date(exp * 1000))
    expect((await send()).status).toBe(403)
    now += 11 * 60 * 1000
    expect((await send()).status).toBe(401)
    const outcomes = events.map((e) => [e.outcome, e.jti, e.sub, e.kid, e.issuerKid])
    const kid = keyring.current.kid
    expect(outcomes[0]).toEqual(['ok', jti, 'agent-7', kid, issuer.kid])
    expect(outcomes[1]).toEqual(['token_revoked', jti, 'agent-7', kid, issuer.kid])
    expect(outcomes[2]).toEqual(['token_expired', jti, 'agent-7', kid, issuer.kid])
    expect(JSON.stringify(events)).not.toContain('sk-event-secret')
    expect(JSON.stringify(events)).not.toContain(token)
  })
})
