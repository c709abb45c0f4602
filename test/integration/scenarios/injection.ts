import { expect, test } from 'vitest'
import { hits, mintToken, type Suite, send, via } from '../harness/fixtures.js'
import { secret } from '../harness/leaks.js'

/** Credential injection and header stripping. */
export function injectionScenarios(s: Suite): void {
  test('two-header injection; the token never reaches the upstream', async () => {
    const auth = secret('Bearer sk-live-two-header-A')
    const apiKey = secret('ak-live-two-header-B')
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [
        { in: 'header', name: 'Authorization', value: auth },
        { in: 'header', name: 'X-Api-Key', value: apiKey },
      ],
    })
    // Once in X-Keyhole-Token, once as Authorization: Bearer (which the credential replaces).
    const first = await send(via(s.app, s.up, '/two-header/1'), { headers: { 'x-keyhole-token': token } })
    const second = await send(via(s.app, s.up, '/two-header/2'), {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(first.status).toBe(200)
    expect(second.status).toBe(200)
    const seen = hits(s.up, '/two-header/')
    expect(seen).toHaveLength(2)
    for (const request of seen) {
      expect(request.headers.authorization).toBe(auth)
      expect(request.headers['x-api-key']).toBe(apiKey)
      expect(request.headers['x-keyhole-token']).toBeUndefined()
      expect(JSON.stringify(request.rawHeaders)).not.toContain(token)
      expect(request.url).not.toContain(token)
    }
  })

  test('query and cookie injection', async () => {
    const key = secret('q-secret-value/with+chars')
    const session = secret('c-secret-session')
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [
        { in: 'query', name: 'api_key', value: key },
        { in: 'cookie', name: 'session', value: session },
      ],
    })
    const response = await send(via(s.app, s.up, '/qc/items?a=1&api_key=mine&b=%20x'), {
      headers: { 'x-keyhole-token': token, cookie: 'session=sandbox; other=1' },
    })
    expect(response.status).toBe(200)
    const [request] = hits(s.up, '/qc/')
    expect(request).toBeDefined()
    // Inbound api_key replaced, everything else kept byte for byte and in order.
    expect(request!.url).toBe(`/qc/items?a=1&b=%20x&api_key=${encodeURIComponent(key)}`)
    expect(request!.headers.cookie).toBe(`session=${session}`)
  })

  test('inbound Authorization, X-Api-Key, Cookie, Proxy-Authorization, Forwarded are overridden or stripped', async () => {
    const auth = secret('Bearer sk-live-override')
    const apiKey = secret('ak-live-override')
    const cookie = secret('cookie-live-override')
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [
        { in: 'header', name: 'authorization', value: auth },
        { in: 'header', name: 'x-api-key', value: apiKey },
        { in: 'cookie', name: 'sid', value: cookie },
      ],
    })
    const response = await send(via(s.app, s.up, '/override'), {
      headers: [
        ['X-Keyhole-Token', token],
        ['Authorization', 'Basic c2FuZGJveDpndWVzcw=='],
        ['X-API-KEY', 'sandbox-key'],
        ['x-api-key', 'sandbox-key-2'],
        ['Cookie', 'sid=sandbox; tracking=1'],
        ['Proxy-Authorization', 'Basic cHJveHk6cHc='],
        ['Forwarded', 'for=203.0.113.7;host=evil.example'],
        ['X-Forwarded-For', '203.0.113.7'],
        ['X-Forwarded-Host', 'evil.example'],
        ['X-Keyhole-Debug', '1'],
        ['X-Custom', 'kept'],
      ],
    })
    expect(response.status).toBe(200)
    const [request] = hits(s.up, '/override')
    expect(request!.headers.authorization).toBe(auth)
    expect(request!.headers['x-api-key']).toBe(apiKey)
    expect(request!.headers.cookie).toBe(`sid=${cookie}`)
    expect(request!.headers['proxy-authorization']).toBeUndefined()
    expect(request!.headers.forwarded).toBeUndefined()
    expect(request!.headers['x-forwarded-for']).toBeUndefined()
    expect(request!.headers['x-forwarded-host']).toBeUndefined()
    expect(request!.headers['x-keyhole-debug']).toBeUndefined()
    expect(request!.headers['x-custom']).toBe('kept')
    // Each credential header exactly once.
    const names = request!.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
    expect(names.filter((n) => n === 'authorization')).toHaveLength(1)
    expect(names.filter((n) => n === 'x-api-key')).toHaveLength(1)
    expect(names.filter((n) => n === 'cookie')).toHaveLength(1)
  })

  test('Connection: <header-name> tricks neither remove an injected credential nor smuggle hop headers', async () => {
    const auth = secret('Bearer sk-live-connection')
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: auth }],
    })
    s.up.route('/conn-resp', (_req, res) => {
      res.writeHead(200, {
        connection: 'X-Upstream-Hop',
        'x-upstream-hop': 'secret-topology',
        'x-kept': 'yes',
      })
      res.end('ok')
    })
    const response = await send(via(s.app, s.up, '/conn'), {
      headers: [
        ['X-Keyhole-Token', token],
        ['Connection', 'keep-alive, Authorization, X-Hop, X-Keyhole-Token'],
        ['X-Hop', 'must-not-pass'],
        ['Keep-Alive', 'timeout=5'],
        ['TE', 'trailers'],
        ['Upgrade', 'h2c'],
      ],
    })
    expect(response.status).toBe(200)
    const [request] = hits(s.up, '/conn')
    expect(request!.headers.authorization).toBe(auth)
    expect(request!.headers['x-hop']).toBeUndefined()
    expect(request!.headers['keep-alive']).toBeUndefined()
    expect(request!.headers.te).toBeUndefined()
    expect(request!.headers.upgrade).toBeUndefined()
    expect(String(request!.headers.connection ?? '')).not.toMatch(/authorization|x-hop/i)

    const back = await send(via(s.app, s.up, '/conn-resp'), { headers: { 'x-keyhole-token': token } })
    expect(back.status).toBe(200)
    expect(back.headers['x-upstream-hop']).toBeUndefined()
    expect(back.headers['x-kept']).toBe('yes')
  })

  test('a token in x-api-key through tokenHeaders', async () => {
    const app = await s.start({ proxy: { tokenHeaders: ['x-api-key'] } })
    const apiKey = secret('ak-live-sdk-key')
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'X-Api-Key', value: apiKey }],
    })
    const response = await send(via(app, s.up, '/sdk/v1/messages'), {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json' },
      body: '{"hello":"world"}',
    })
    expect(response.status).toBe(200)
    const [request] = hits(s.up, '/sdk/')
    expect(request!.headers['x-api-key']).toBe(apiKey)
    expect(request!.body.toString()).toBe('{"hello":"world"}')
    expect(JSON.stringify(request!.rawHeaders)).not.toContain(token)

    // Without tokenHeaders the same request has no token.
    const refused = await send(via(s.app, s.up, '/sdk/v1/messages'), { headers: { 'x-api-key': token } })
    expect(refused.status).toBe(401)
    expect(refused.headers['x-keyhole-error']).toBe('missing_token')
  })

  test('50 concurrent tokens each see only their own credential', async () => {
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        mintToken(s.keys.keyring, {
          hosts: [s.up.origin],
          inject: [{ in: 'header', name: 'X-Cred', value: secret(`cred-${i}-${crypto.randomUUID()}`) }],
        }),
      ),
    )
    const expected = await Promise.all(
      tokens.map(async (t) => (await s.keys.opener.open(t)).inject[0]!.value),
    )
    const responses = await Promise.all(
      tokens.map((token, i) =>
        send(via(s.app, s.up, `/concurrent/${i}`), { headers: { 'x-keyhole-token': token } }),
      ),
    )
    responses.forEach((response, i) => {
      expect(response.status).toBe(200)
      const echo = response.json()
      expect(echo.url).toBe(`/concurrent/${i}`)
      // The echo comes back scrubbed with this request's own credential; what the upstream got is
      // checked from its own record below.
      expect(echo.headers['x-cred']).toBe('*'.repeat(expected[i]!.length))
    })
    const seen = hits(s.up, '/concurrent/')
    expect(seen).toHaveLength(50)
    for (const request of seen) {
      const i = Number(request.url.split('/')[2])
      expect(request.headers['x-cred']).toBe(expected[i])
    }
  })

  test('query and percent-encoding are preserved byte for byte', async () => {
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-encoding') }],
    })
    const paths = [
      "/enc/a%2Fb/%41%42%63/c%20d/~!$&'()*+,;=:@/x",
      "/enc/q?x=%2F%3F%26&r=a+b&s=%E2%82%AC&t=&u&v=1=2&w='quoted'&x=%7e&y=%7E&z=a%2bb",
      '/enc/%F0%9F%94%91/%25/%2525?%=%&&',
      '/enc/trailing/?',
    ]
    for (const path of paths) {
      const response = await send(via(s.app, s.up, path), { headers: { 'x-keyhole-token': token } })
      expect(response.status, path).toBe(200)
      expect(response.json().url).toBe(path)
    }
    expect(hits(s.up, '/enc/').map((r) => r.url)).toEqual(paths)
  })
}
