import type { LookupFunction } from 'node:net'
import { generateKey } from '@keyhole/core'
import { expect, test } from 'vitest'
import { createKeys, hits, mintToken, type Suite, send, via } from '../harness/fixtures.js'
import { secret } from '../harness/leaks.js'

function tokenHeader(token: string) {
  return { 'x-keyhole-token': token }
}

/** Policy: hosts, schemes, ports, paths, redirects, revocation, rotation, expiry. */
export function policyScenarios(s: Suite): void {
  test('a token sent towards a host outside its grant: 403, that host never contacted', async () => {
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-outside') }],
    })
    const response = await send(via(s.app, s.other, '/outside'), { headers: tokenHeader(token) })
    expect(response.status).toBe(403)
    expect(response.headers['x-keyhole-error']).toBe('host_not_allowed')
    expect(response.json().error.code).toBe('host_not_allowed')
    // Other spellings of a host that is not in the grant.
    for (const host of ['localhost', '127.0.0.2', '[::1]', '0x7f000001', '2130706433']) {
      const r = await send(`${s.app.origin}/proxy/http/${host}:${s.other.port}/outside`, {
        headers: tokenHeader(token),
      })
      expect([400, 403], host).toContain(r.status)
    }
    expect(s.other.received).toHaveLength(0)
    expect(hits(s.up, '/outside')).toHaveLength(0)
  })

  test('scheme downgrade and port change are refused', async () => {
    // https only (no http:// prefix): the same host over plain http is refused.
    const httpsOnly = await mintToken(s.keys.keyring, {
      hosts: [s.up.authority],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-https-only') }],
    })
    const downgrade = await send(via(s.app, s.up, '/downgrade'), { headers: tokenHeader(httpsOnly) })
    expect(downgrade.status).toBe(403)
    expect(downgrade.headers['x-keyhole-error']).toBe('host_not_allowed')

    // Port locked: the grant's host on another port (where the second upstream listens).
    const portLocked = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-port-locked') }],
    })
    const moved = await send(`${s.app.origin}/proxy/http/127.0.0.1:${s.other.port}/port`, {
      headers: tokenHeader(portLocked),
    })
    expect(moved.status).toBe(403)
    expect(moved.headers['x-keyhole-error']).toBe('host_not_allowed')
    // Default port (80) is not the grant's port either.
    const defaultPort = await send(`${s.app.origin}/proxy/http/127.0.0.1/port`, {
      headers: tokenHeader(portLocked),
    })
    expect(defaultPort.status).toBe(403)

    expect(hits(s.up, '/downgrade')).toHaveLength(0)
    expect(s.other.received).toHaveLength(0)
  })

  test('wildcard edge cases', async () => {
    // A resolver that sends every *.wild.test name (and the bare domain) to 127.0.0.1, so the
    // proxy's real DNS path and address check run.
    const lookup = ((hostname: string, options: unknown, callback: unknown) => {
      const cb = (typeof options === 'function' ? options : callback) as (...a: unknown[]) => void
      const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all
      if (hostname === 'wild.test' || hostname.endsWith('.wild.test')) {
        if (all) cb(null, [{ address: '127.0.0.1', family: 4 }])
        else cb(null, '127.0.0.1', 4)
      } else {
        const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
        cb(error)
      }
    }) as unknown as LookupFunction
    const open = await s.start({ proxy: { allowPrivateAddresses: true }, forwarder: { lookup } })
    const guarded = await s.start({ forwarder: { lookup } })
    const token = await mintToken(s.keys.keyring, {
      hosts: [`http://*.wild.test:${s.up.port}`],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-wildcard') }],
    })
    const at = (host: string, path: string, app = open) =>
      send(`${app.origin}/proxy/http/${host}/${path}`, { headers: tokenHeader(token) })

    for (const host of ['api.wild.test', 'a.b.c.wild.test', 'API.Wild.TEST', 'api.wild.test.']) {
      const r = await at(`${host}:${s.up.port}`, `wild-ok/${encodeURIComponent(host)}`)
      expect(r.status, host).toBe(200)
    }
    const allowed = hits(s.up, '/wild-ok/')
    expect(allowed).toHaveLength(4)
    expect(allowed[0]!.headers.host).toBe(`api.wild.test:${s.up.port}`)

    const refused = [
      `wild.test:${s.up.port}`, // the bare domain is never matched by *.
      `evilwild.test:${s.up.port}`,
      `wild.test.evil.example:${s.up.port}`,
      `api.wild.test:${s.other.port}`, // wrong port
      `api.wild.test`, // default port 80
    ]
    for (const host of refused) {
      const r = await at(host, 'wild-no')
      expect(r.status, host).toBe(403)
      expect(r.headers['x-keyhole-error'], host).toBe('host_not_allowed')
    }
    // https is not granted by an http:// pattern.
    const tls = await send(`${open.origin}/proxy/https/api.wild.test:${s.up.port}/wild-no`, {
      headers: tokenHeader(token),
    })
    expect(tls.status).toBe(403)

    // Without allowPrivateAddresses a name that resolves to 127.0.0.1 is refused at dial time.
    const rebinding = await at(`api.wild.test:${s.up.port}`, 'wild-no', guarded)
    expect(rebinding.status).toBe(403)
    expect(rebinding.headers['x-keyhole-error']).toBe('host_not_allowed')

    expect(hits(s.up, '/wild-no')).toHaveLength(0)
    expect(s.other.received).toHaveLength(0)
  })

  test('path traversal and encoded slashes against a path-restricted grant', async () => {
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      paths: ['/v1/**'],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-paths') }],
    })
    const ok = await send(via(s.app, s.up, '/v1/items/1'), { headers: tokenHeader(token) })
    expect(ok.status).toBe(200)
    const before = s.up.received.length

    const attempts = [
      '/v1/../admin',
      '/v1/./../admin',
      '/v1/%2e%2e/admin',
      '/v1/%2E%2E/admin',
      '/v1/.%2e/admin',
      '/v1%2F..%2Fadmin',
      '/v1/a%2Fb',
      '/v1/a%2fb',
      '/v1/..%5Cadmin',
      '/v1/a%5cb',
      '/v1/%252e%252e/admin',
      '/admin',
      '/v1x/admin',
      '/V1/items',
    ]
    for (const path of attempts) {
      const r = await send(via(s.app, s.up, path), { headers: tokenHeader(token) })
      expect([400, 403], path).toContain(r.status)
      expect(r.headers['x-keyhole-error'], path).toMatch(/^(path_not_allowed|bad_target)$/)
    }
    expect(s.up.received.length).toBe(before)
  })

  test('a 302 to another host is handed back; the credential never goes there', async () => {
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-redirect') }],
    })
    const location = `${s.other.origin}/landing?from=redirect`
    s.up.route('/redirect', (_req, res) => {
      res.writeHead(302, { location, 'content-type': 'text/plain' })
      res.end('moved')
    })
    const response = await send(via(s.app, s.up, '/redirect'), { headers: tokenHeader(token) })
    expect(response.status).toBe(302)
    expect(response.headers.location).toBe(location)
    expect(response.text()).toBe('moved')
    expect(hits(s.up, '/redirect')).toHaveLength(1)
    expect(s.other.received).toHaveLength(0)

    // Following it through the proxy is a new request that fails the policy.
    const followed = await send(`${s.app.origin}/proxy/http/${s.other.authority}/landing?from=redirect`, {
      headers: tokenHeader(token),
    })
    expect(followed.status).toBe(403)
    expect(s.other.received).toHaveLength(0)
  })

  test('revocation: 403 afterwards, the upstream contacted exactly once before', async () => {
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-revoked') }],
    })
    const before = await send(via(s.app, s.up, '/revocation'), { headers: tokenHeader(token) })
    expect(before.status).toBe(200)
    const { jti, exp } = await s.keys.opener.open(token)
    const revoked = await send(`${s.app.origin}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jti, exp }),
    })
    expect(revoked.status).toBe(200)
    expect(revoked.json()).toMatchObject({ revoked: true, jti })
    for (let i = 0; i < 3; i++) {
      const after = await send(via(s.app, s.up, '/revocation'), { headers: tokenHeader(token) })
      expect(after.status).toBe(403)
      expect(after.headers['x-keyhole-error']).toBe('token_revoked')
    }
    expect(hits(s.up, '/revocation')).toHaveLength(1)
  })

  test('key rotation: tokens for the old and the new kid both work, until the old one is retired', async () => {
    const keys = await createKeys()
    const app = await s.start({ opener: keys.opener })
    const oldKid = keys.keyring.current.kid
    const oldToken = await mintToken(keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-old-kid') }],
    })
    keys.keyring.add(await generateKey())
    const newKid = keys.keyring.current.kid
    expect(newKid).not.toBe(oldKid)
    const newToken = await mintToken(keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-new-kid') }],
    })
    const kidOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid
    expect(kidOf(oldToken)).toBe(oldKid)
    expect(kidOf(newToken)).toBe(newKid)

    const a = await send(via(app, s.up, '/rotation/old'), { headers: tokenHeader(oldToken) })
    const b = await send(via(app, s.up, '/rotation/new'), { headers: tokenHeader(newToken) })
    expect(a.status).toBe(200)
    expect(b.status).toBe(200)
    expect(hits(s.up, '/rotation/old')[0]!.headers.authorization).toBe('Bearer sk-live-old-kid')
    expect(hits(s.up, '/rotation/new')[0]!.headers.authorization).toBe('Bearer sk-live-new-kid')

    keys.keyring.retire(oldKid)
    const retired = await send(via(app, s.up, '/rotation/retired'), { headers: tokenHeader(oldToken) })
    expect(retired.status).toBe(401)
    expect(retired.headers['x-keyhole-error']).toBe('invalid_token')
    expect(retired.headers['www-authenticate']).toBe('Bearer error="invalid_token"')
    const stillNew = await send(via(app, s.up, '/rotation/new2'), { headers: tokenHeader(newToken) })
    expect(stillNew.status).toBe(200)
    expect(hits(s.up, '/rotation/retired')).toHaveLength(0)
    keys.revocations.close()
  })

  test('expiry mid-session: requests work until exp, then 401 token_expired', async () => {
    let now = Date.now()
    const keys = await createKeys({ now: () => now, clockTolerance: '0s' })
    const app = await s.start({ opener: keys.opener })
    const token = await mintToken(
      keys.keyring,
      {
        hosts: [s.up.origin],
        ttl: '60s',
        inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-expiring') }],
      },
      { now: () => now },
    )
    for (const step of [0, 20_000, 20_000]) {
      now += step
      const r = await send(via(app, s.up, '/expiry/live'), { headers: tokenHeader(token) })
      expect(r.status).toBe(200)
    }
    now += 25_000 // 65 s after minting: past exp (the cached grant must not outlive it)
    const expired = await send(via(app, s.up, '/expiry/dead'), { headers: tokenHeader(token) })
    expect(expired.status).toBe(401)
    expect(expired.headers['x-keyhole-error']).toBe('token_expired')
    expect(hits(s.up, '/expiry/live')).toHaveLength(3)
    expect(hits(s.up, '/expiry/dead')).toHaveLength(0)
    keys.revocations.close()
  })

  test('requests without a valid token never reach the upstream', async () => {
    const missing = await send(via(s.app, s.up, '/no-token'))
    expect(missing.status).toBe(401)
    expect(missing.headers['x-keyhole-error']).toBe('missing_token')
    expect(missing.headers['www-authenticate']).toBe('Bearer')
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-tamper') }],
    })
    const parts = token.split('.')
    parts[3] = `${parts[3]!.slice(0, -2)}${parts[3]!.endsWith('AA') ? 'BB' : 'AA'}`
    const tampered = await send(via(s.app, s.up, '/no-token'), { headers: tokenHeader(parts.join('.')) })
    expect(tampered.status).toBe(401)
    expect(tampered.headers['x-keyhole-error']).toBe('invalid_token')
    expect(hits(s.up, '/no-token')).toHaveLength(0)
  })
}
