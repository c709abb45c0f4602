// Credential kinds and response scrubbing through the real engine and the node forwarder, with
// real upstreams on 127.0.0.1 that echo what they got in every way an API might.
import { createHmac } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey } from '../../src/keys/generate-key.js'
import { createKeyring, type Keyring } from '../../src/keys/keyring.js'
import { mint } from '../../src/mint.js'
import { createNodeForwarder } from '../../src/node/node-forwarder.js'
import { createOpener } from '../../src/open/opener.js'
import { createProxy, type ProxyHandler, type ProxyOptions } from '../../src/proxy/create-proxy.js'
import type { ProxyEvent } from '../../src/proxy/events.js'
import type { Injection } from '../../src/types.js'
import { testIssuer, testIssuers } from '../kit/issuer.js'

const SECRET = 'sk_live_SCRUBME_0123456789abcdef'
const PASSWORD = 'pw-SCRUB/+me=9876'

interface Seen {
  headers: IncomingMessage['headers']
  body: Buffer
  url: string
}

let server: Server
let port: number
const seen: Seen[] = []
let tokenServer: Server
let tokenPort: number
let tokenRequests = 0
let keyring: Keyring

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<[Server, number]> {
  const s = createServer(handler)
  return new Promise((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve([s, (s.address() as AddressInfo).port])),
  )
}

beforeAll(async () => {
  keyring = createKeyring([await generateKey()])
  ;[server, port] = await listen((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      seen.push({ headers: req.headers, body, url: req.url ?? '' })
      const auth = String(req.headers.authorization ?? req.headers['x-key'] ?? '')
      const credential = auth.replace(/^(Bearer|Basic) /, '')
      const path = (req.url ?? '').split('?')[0]
      const echo = JSON.stringify({
        auth,
        credential,
        b64: Buffer.from(auth).toString('base64'),
        body: body.toString(),
      })
      if (path === '/echo') {
        res.writeHead(302, {
          location: `https://elsewhere.example/cb?key=${encodeURIComponent(credential)}`,
          'set-cookie': [`session=${credential}; HttpOnly`, 'plain=1'],
          link: `<https://x.example/${credential}>; rel="next"`,
          'www-authenticate': `Bearer realm="${credential}"`,
          'content-type': 'application/json',
        })
        res.end(echo)
      } else if (path === '/gzip' || path === '/deflate' || path === '/br' || path === '/zstd') {
        const encode = {
          '/gzip': gzipSync,
          '/deflate': deflateSync,
          '/br': brotliCompressSync,
          '/zstd': gzipSync,
        }[path]
        res.writeHead(200, { 'content-encoding': path.slice(1), 'content-type': 'application/json' })
        res.end(encode(Buffer.from(echo)))
      } else if (path === '/reason' || path === '/reason-stream') {
        // The reason phrase of the status line, quoting the credential.
        const headers: Record<string, string> = { 'content-type': 'text/plain' }
        if (path === '/reason') headers['content-length'] = '2'
        res.writeHead(200, `OK ${credential}`, headers)
        res.end('ok')
      } else if (path === '/gzip-garbage') {
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' })
        res.end(Buffer.from(`not gzip at all ${credential}`))
      } else if (path === '/gzip-broken-later') {
        // A valid start, then bytes that break the stream once the head has gone out.
        const whole = gzipSync(Buffer.from(`${'x'.repeat(200_000)}${credential}`))
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' })
        res.write(whole.subarray(0, 2048))
        setTimeout(() => res.end(Buffer.alloc(4096, 0xff)), 50)
      } else if (path === '/sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write('data: first, nothing secret\n\n')
        setTimeout(() => {
          // The secret split across two writes.
          res.write(`data: ${credential.slice(0, 9)}`)
          setTimeout(() => res.end(`${credential.slice(9)}\n\n`), 30)
        }, 150)
      } else if (path === '/unauthorized') {
        res.writeHead(401, { 'content-type': 'text/plain' })
        res.end('nope')
      } else {
        res.writeHead(200, {
          'content-type': 'application/json',
          'accept-encoding-seen': String(req.headers['accept-encoding'] ?? ''),
        })
        res.end(echo)
      }
    })
  })
  ;[tokenServer, tokenPort] = await listen((req, res) => {
    req.resume()
    req.on('end', () => {
      tokenRequests++
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          access_token: `at_${tokenRequests}_ACCESSTOKEN_xyz`,
          token_type: 'Bearer',
          expires_in: 3600,
        }),
      )
    })
  })
})
afterAll(() => Promise.all([server, tokenServer].map((s) => new Promise((r) => s.close(r)))))

async function proxyFor(inject: Injection[], options: Partial<ProxyOptions> = {}, events?: ProxyEvent[]) {
  const token = await mint(
    { hosts: [`http://127.0.0.1:${port}`], inject, ttl: '10m' },
    { to: keyring.publicJwks(), signWith: testIssuer },
  )
  const proxy: ProxyHandler = createProxy({
    opener: createOpener({ keyring, issuers: testIssuers }),
    forward: createNodeForwarder(),
    onEvent: events ? (e) => void events.push(e) : undefined,
    ...options,
  })
  const send = (path: string, init: RequestInit = {}) =>
    proxy(
      new Request(`http://proxy.test/http/127.0.0.1:${port}${path}`, {
        ...init,
        headers: { 'x-keyhole-token': token, ...(init.headers as Record<string, string>) },
      }),
    )
  return { token, send }
}

const bearer: Injection[] = [{ type: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }]

describe('response scrubbing (default on)', () => {
  it('masks the secret in every header of a 3xx and in the body, raw, base64 and JSON-escaped, keeping lengths', async () => {
    const events: ProxyEvent[] = []
    const { send } = await proxyFor(bearer, {}, events)
    const response = await send('/echo')
    expect(response.status).toBe(302)
    const text = await response.text()
    const headerText = JSON.stringify([...response.headers])
    for (const where of [text, headerText]) {
      expect(where).not.toContain(SECRET)
      expect(where).not.toContain(Buffer.from(`Bearer ${SECRET}`).toString('base64').slice(4, 30))
    }
    expect(response.headers.get('location')).toContain('*'.repeat(SECRET.length))
    expect(response.headers.getSetCookie()).toEqual([
      `session=${'*'.repeat(SECRET.length)}; HttpOnly`,
      'plain=1',
    ])
    // The upstream really did echo it (what was masked was there).
    expect(seen.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`)
    expect(events.at(-1)?.scrubbed).toBeGreaterThanOrEqual(6)
  })

  it('asks for identity, decodes gzip, deflate and br that come anyway, refuses an unknown encoding', async () => {
    const { send } = await proxyFor(bearer)
    const plain = await send('/plain')
    expect(plain.headers.get('accept-encoding-seen')).toBe('identity')
    await plain.text()
    for (const path of ['/gzip', '/deflate', '/br']) {
      const response = await send(path)
      expect(response.status, path).toBe(200)
      expect(response.headers.get('content-encoding'), path).toBeNull()
      const body = await response.text()
      expect(JSON.parse(body).credential, path).toBe('*'.repeat(SECRET.length))
    }
    const zstd = await send('/zstd')
    expect(zstd.status).toBe(502)
    expect(zstd.headers.get('x-keyhole-error')).toBe('response_not_scrubbable')
  })

  it('answers 502 response_not_scrubbable for a body that is not valid for its coding, and errors a body that breaks later', async () => {
    const events: ProxyEvent[] = []
    const { send } = await proxyFor(bearer, {}, events)
    const garbage = await send('/gzip-garbage')
    expect(garbage.status).toBe(502)
    expect(garbage.headers.get('x-keyhole-error')).toBe('response_not_scrubbable')
    const text = await garbage.text()
    expect(text).not.toContain(SECRET)
    expect(events.at(-1)?.outcome).toBe('response_not_scrubbable')
    const later = await send('/gzip-broken-later')
    expect(later.status).toBe(200)
    await expect(later.text()).rejects.toThrow()
  })

  it("cuts the connection through the adapter's abort when a scrubbed body breaks mid-way", async () => {
    const { token } = await proxyFor(bearer)
    const proxy = createProxy({
      opener: createOpener({ keyring, issuers: testIssuers }),
      forward: createNodeForwarder(),
    })
    let aborted = 0
    const response = await proxy(
      new Request(`http://proxy.test/http/127.0.0.1:${port}/gzip-broken-later`, {
        headers: { 'x-keyhole-token': token },
      }),
      { abort: () => aborted++ },
    )
    expect(response.status).toBe(200)
    await response.text() // ends quietly: the adapter, not the stream, tells the client
    expect(aborted).toBe(1)
  })

  it('masks the secret in the upstream reason phrase, small and streamed bodies and headers-only alike', async () => {
    for (const scrub of [true, 'headers'] as const) {
      const events: ProxyEvent[] = []
      const { send } = await proxyFor(bearer, { scrub }, events)
      for (const path of ['/reason', '/reason-stream']) {
        const response = await send(path)
        expect(response.status).toBe(200)
        expect(response.statusText, `${scrub} ${path}`).toBe(`OK ${'*'.repeat(SECRET.length)}`)
        expect(await response.text()).toBe('ok')
        expect(events.at(-1)?.scrubbed).toBe(1)
      }
    }
  })

  it('streams SSE: a clean event flushes at once, a secret split across writes is masked', async () => {
    const { send } = await proxyFor(bearer)
    const response = await send('/sse')
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    expect(first).toBe('data: first, nothing secret\n\n')
    let rest = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      rest += new TextDecoder().decode(value)
    }
    expect(rest).toBe(`data: ${'*'.repeat(SECRET.length)}\n\n`)
  })

  it("never forwards Range while scrubbing bodies; 'headers' and false are the operator's choice", async () => {
    const on = await proxyFor(bearer)
    await (await on.send('/plain', { headers: { range: 'bytes=0-3', 'if-range': 'x' } })).text()
    expect(seen.at(-1)?.headers.range).toBeUndefined()
    const headersOnly = await proxyFor(bearer, { scrub: 'headers' })
    const response = await headersOnly.send('/echo')
    expect(response.headers.get('location')).not.toContain(SECRET)
    expect(await response.text()).toContain(SECRET)
    const off = await proxyFor(bearer, { scrub: false })
    const raw = await off.send('/plain', { headers: { range: 'bytes=0-3' } })
    expect(seen.at(-1)?.headers.range).toBe('bytes=0-3')
    expect(await raw.text()).toContain(SECRET)
  })
})

describe('credential kinds through the engine', () => {
  it('basic: Authorization: Basic, and both the rendered value and the password are scrubbed', async () => {
    const { send } = await proxyFor([{ type: 'basic', username: 'robot', password: PASSWORD }])
    const response = await send('/plain', { headers: { authorization: 'Basic c2FuZGJveDpndWVzcw==' } })
    const sent = seen.at(-1)?.headers.authorization
    expect(sent).toBe(`Basic ${Buffer.from(`robot:${PASSWORD}`).toString('base64')}`)
    const body = await response.text()
    expect(body).not.toContain(PASSWORD)
    expect(body).not.toContain(String(sent).slice(6))
  })

  it('body: sets one JSON field, keeps the rest byte for byte, with a correct Content-Length', async () => {
    const events: ProxyEvent[] = []
    const { send } = await proxyFor([{ type: 'body', field: '/auth/api_key', value: SECRET }], {}, events)
    const original = '{"n":12345678901234567890,"auth":{"api_key":"placeholder"},"x":[1, 2]}'
    const response = await send('/plain', {
      method: 'POST',
      body: original,
      headers: { 'content-type': 'application/json' },
    })
    const got = seen.at(-1) as Seen
    expect(got.body.toString()).toBe(`{"n":12345678901234567890,"auth":{"api_key":"${SECRET}"},"x":[1, 2]}`)
    expect(got.headers['content-length']).toBe(String(got.body.length))
    expect(await response.text()).not.toContain(SECRET)
    const refused = await send('/plain', {
      method: 'POST',
      body: 'a',
      headers: { 'content-type': 'text/plain' },
    })
    expect(refused.headers.get('x-keyhole-error')).toBe('bad_request')
    // Why, in the response (a fixed text, no value) and in the event.
    expect((await refused.json()).error.message).toBe(
      'a credential goes only into a JSON or form-encoded request body',
    )
    expect(events.at(-1)).toMatchObject({ outcome: 'bad_request', reason: 'body_credential' })
  })

  it('hmac: signs the final body; the signature is scrubbed from the echo', async () => {
    const { send } = await proxyFor([
      { type: 'body', field: '/key', value: SECRET },
      { type: 'hmac', name: 'X-Signature', key: 'whsec_HMACKEY_123456', prefix: 'sha256=' },
    ])
    const response = await send('/plain', {
      method: 'POST',
      body: '{"key":"","v":1}',
      headers: { 'content-type': 'application/json' },
    })
    const got = seen.at(-1) as Seen
    const expected = createHmac('sha256', 'whsec_HMACKEY_123456').update(got.body).digest('hex')
    expect(got.headers['x-signature']).toBe(`sha256=${expected}`)
    const echoed = await response.text()
    expect(echoed).not.toContain(expected)
  })

  it('oauth2: fetches one token for many requests, sends it as Bearer, scrubs it, and drops it after an upstream 401', async () => {
    const before = tokenRequests
    const { send } = await proxyFor([
      {
        type: 'oauth2',
        tokenUrl: `http://127.0.0.1:${tokenPort}/token`,
        clientId: 'c',
        clientSecret: 'cs_SECRET_oauth',
      },
    ])
    const bodies = await Promise.all(Array.from({ length: 10 }, () => send('/plain').then((r) => r.text())))
    expect(tokenRequests - before).toBe(1)
    const sent = String(seen.at(-1)?.headers.authorization)
    expect(sent).toMatch(/^Bearer at_\d+_ACCESSTOKEN_xyz$/)
    for (const body of bodies) expect(body).not.toContain(sent.slice(7))
    await (await send('/unauthorized')).text()
    await (await send('/plain')).text()
    expect(tokenRequests - before).toBe(2)
  })
})
