import { expect, test } from 'vitest'
import { hits, mintToken, type Suite, send, via } from '../harness/fixtures.js'
import { recordProxyResponse, secret } from '../harness/leaks.js'

/** Gateway mode (engine with `upstream`), keyholeAuth gateways, admin routes, JWKS, health. */
export function modeScenarios(s: Suite): void {
  test('gateway mode: the path below the mount is appended to the fixed upstream; policy still applies', async () => {
    const auth = secret('Bearer sk-live-gateway')
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      paths: ['/gw-v1/**'],
      inject: [{ in: 'header', name: 'Authorization', value: auth }],
    })
    const ok = await send(`${s.app.origin}/gw/gw-v1/items?x=1&y=%2F`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"a":1}',
    })
    expect(ok.status).toBe(200)
    const [request] = hits(s.up, '/gw-v1/')
    expect(request!.url).toBe('/gw-v1/items?x=1&y=%2F')
    expect(request!.headers.authorization).toBe(auth)
    expect(request!.body.toString()).toBe('{"a":1}')

    const outsidePath = await send(`${s.app.origin}/gw/gw-v2/items`, {
      headers: { 'x-keyhole-token': token },
    })
    expect(outsidePath.status).toBe(403)
    expect(outsidePath.headers['x-keyhole-error']).toBe('path_not_allowed')

    const elsewhere = await mintToken(s.keys.keyring, {
      hosts: [s.other.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-gateway-other') }],
    })
    const wrongHost = await send(`${s.app.origin}/gw/gw-v1/items`, {
      headers: { 'x-keyhole-token': elsewhere },
    })
    expect(wrongHost.status).toBe(403)
    expect(wrongHost.headers['x-keyhole-error']).toBe('host_not_allowed')
    expect(hits(s.up, '/gw-v')).toHaveLength(1)
    expect(s.other.received).toHaveLength(0)
  })

  test('keyholeAuth gateway: grant and inject() on the context, errors in the engine shape', async () => {
    const auth = secret('Bearer sk-live-auth-mw')
    const key = secret('q-live-auth-mw')
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [
        { in: 'header', name: 'Authorization', value: auth },
        { in: 'query', name: 'key', value: key },
      ],
    })
    const ok = await send(`${s.app.origin}/auth/things/1?y=2`, {
      method: 'POST',
      headers: {
        'x-keyhole-token': token,
        'content-type': 'text/plain',
        'proxy-authorization': 'Basic eDp5',
        forwarded: 'for=1.2.3.4',
        cookie: 'kept=1',
      },
      body: 'hello',
    })
    expect(ok.status).toBe(200)
    const [request] = hits(s.up, '/things/')
    expect(request!.url).toBe(`/things/1?y=2&key=${key}`)
    expect(request!.method).toBe('POST')
    expect(request!.body.toString()).toBe('hello')
    expect(request!.headers.authorization).toBe(auth)
    expect(request!.headers['x-keyhole-token']).toBeUndefined()
    expect(request!.headers['proxy-authorization']).toBeUndefined()
    expect(request!.headers.forwarded).toBeUndefined()
    expect(request!.headers.cookie).toBe('kept=1')
    expect(JSON.stringify(request!.rawHeaders)).not.toContain(token)

    const missing = await send(`${s.app.origin}/auth/things/2`)
    expect(missing.status).toBe(401)
    expect(missing.headers['x-keyhole-error']).toBe('missing_token')
    expect(missing.headers['www-authenticate']).toBe('Bearer')
    expect(missing.json()).toEqual({ error: { code: 'missing_token', message: expect.any(String) } })

    const elsewhere = await mintToken(s.keys.keyring, {
      hosts: [s.other.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-auth-other') }],
    })
    const wrongHost = await send(`${s.app.origin}/auth/things/3`, {
      headers: { 'x-keyhole-token': elsewhere },
    })
    expect(wrongHost.status).toBe(403)
    expect(wrongHost.headers['x-keyhole-error']).toBe('host_not_allowed')

    const { jti, exp } = await s.keys.opener.open(token)
    await s.keys.revocations.revoke(jti, new Date(exp * 1000))
    const revoked = await send(`${s.app.origin}/auth/things/4`, { headers: { 'x-keyhole-token': token } })
    expect(revoked.status).toBe(403)
    expect(revoked.headers['x-keyhole-error']).toBe('token_revoked')
    expect(hits(s.up, '/things/')).toHaveLength(1)
    expect(s.other.received).toHaveLength(0)
  })

  test('admin routes refuse a missing or wrong admin token and work with the right one', async () => {
    const routes = [
      {
        path: '/revoke',
        body: JSON.stringify({ jti: 'some-jti-value', exp: Math.floor(Date.now() / 1000) + 60 }),
      },
      { path: '/mint', body: JSON.stringify({ hosts: [s.up.origin], inject: [], ttl: '1m' }) },
    ]
    const wrong = [
      {},
      { authorization: 'Bearer wrong-admin-token' },
      { authorization: `Bearer ${s.adminToken}x` },
      { authorization: `Bearer ${s.adminToken.slice(0, -1)}` },
      { authorization: `Basic ${s.adminToken}` },
      { authorization: s.adminToken },
      { 'x-keyhole-token': s.adminToken },
    ]
    for (const route of routes) {
      for (const headers of wrong) {
        const r = await send(`${s.app.origin}${route.path}`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: route.body,
        })
        expect(r.status, `${route.path} ${JSON.stringify(Object.keys(headers))}`).toBe(401)
        expect(r.headers['x-keyhole-error']).toBe('unauthorized')
        expect(r.json().error.code).toBe('unauthorized')
      }
      const badJson = await send(`${s.app.origin}${route.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' },
        body: '{"jti": ',
      })
      expect(badJson.status).toBe(400)
      expect(badJson.headers['x-keyhole-error']).toBe('bad_request')
      const tooBig = await send(`${s.app.origin}${route.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' },
        body: `{"pad":"${'x'.repeat(100_000)}"}`,
      })
      expect(tooBig.status).toBe(400)
      expect(tooBig.headers['x-keyhole-error']).toBe('bad_request')
    }
    const admin = { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' }

    // /revoke: validation, then a real revocation.
    const noExp = await send(`${s.app.origin}/revoke`, {
      method: 'POST',
      headers: admin,
      body: '{"jti":"x"}',
    })
    expect(noExp.status).toBe(400)
    const emptyJti = await send(`${s.app.origin}/revoke`, {
      method: 'POST',
      headers: admin,
      body: '{"jti":"","exp":1}',
    })
    expect(emptyJti.status).toBe(400)

    // /mint: an invalid grant names the problem without echoing the credential.
    const value = secret('sk-live-minted-by-route')
    const invalid = await send(`${s.app.origin}/mint`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        hosts: [s.up.origin],
        inject: [{ in: 'header', name: 'Host', value }],
        ttl: '1m',
      }),
    })
    expect(invalid.status).toBe(400)
    expect(invalid.headers['x-keyhole-error']).toBe('bad_request')
    expect(invalid.text()).not.toContain(value)
    const tooLong = await send(`${s.app.origin}/mint`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        hosts: [s.up.origin],
        inject: [{ in: 'header', name: 'X-Key', value }],
        ttl: '2h',
      }),
    })
    expect(tooLong.status).toBe(400)
    expect(tooLong.headers['x-keyhole-error']).toBe('bad_request')

    const minted = await send(`${s.app.origin}/mint`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        hosts: [s.up.origin],
        inject: [{ in: 'header', name: 'X-Key', value }],
        ttl: '5m',
      }),
    })
    expect(minted.status).toBe(200)
    expect(minted.headers['cache-control']).toBe('no-store')
    const { token, jti, exp } = minted.json()
    secret(token)
    recordProxyResponse(minted.headers, JSON.stringify({ jti, exp }))
    expect(minted.text()).not.toContain(value)
    const grant = await s.keys.opener.open(token)
    expect(grant.jti).toBe(jti)
    expect(grant.exp).toBe(exp)
    expect(exp - Math.floor(Date.now() / 1000)).toBeGreaterThan(290)

    const used = await send(via(s.app, s.up, '/minted-by-route'), { headers: { 'x-keyhole-token': token } })
    expect(used.status).toBe(200)
    expect(hits(s.up, '/minted-by-route')[0]!.headers['x-key']).toBe(value)

    const revoked = await send(`${s.app.origin}/revoke`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ jti, exp }),
    })
    expect(revoked.status).toBe(200)
    recordProxyResponse(revoked.headers, revoked.text())
    expect(await s.keys.revocations.isRevoked(jti)).toBe(true)
    const refused = await send(via(s.app, s.up, '/minted-by-route'), {
      headers: { 'x-keyhole-token': token },
    })
    expect(refused.status).toBe(403)
    expect(hits(s.up, '/minted-by-route')).toHaveLength(1)
  })

  test('JWKS serves public keys only; health answers', async () => {
    const response = await send(`${s.app.origin}/.well-known/jwks.json`)
    expect(response.status).toBe(200)
    expect(response.headers['cache-control']).toBe('public, max-age=300')
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    recordProxyResponse(response.headers, response.text())
    const body = response.json()
    expect(body.keys.map((k: { kid: string }) => k.kid)).toEqual(s.keys.keyring.kids())
    for (const key of body.keys) {
      expect(Object.keys(key).sort()).toEqual(
        (key.kty === 'EC'
          ? ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']
          : ['alg', 'crv', 'kid', 'kty', 'use', 'x']
        ).sort(),
      )
    }
    for (const kid of s.keys.keyring.kids()) {
      const d = s.keys.keyring.get(kid)!.d
      expect(response.text()).not.toContain(d)
      secret(d)
    }
    const health = await send(`${s.app.origin}/healthz`)
    expect(health.status).toBe(200)
    expect(health.json()).toEqual({ status: 'ok' })
  })
}
