// End-to-end tests of the proxy engine against real HTTP servers on 127.0.0.1, run once with
// the default fetch forwarder and once with the node:http forwarder.
import { createHash, randomBytes } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey } from '../../src/keys/generate-key.js'
import { toPublicJwk } from '../../src/keys/jwk.js'
import { createKeyring } from '../../src/keys/keyring.js'
import { mint } from '../../src/mint.js'
import { createNodeForwarder, type NodeForwarder } from '../../src/node/node-forwarder.js'
import { createOpener, type Opener } from '../../src/open/opener.js'
import { createProxy, type ProxyHandler, type ProxyOptions } from '../../src/proxy/create-proxy.js'
import type { ProxyEvent } from '../../src/proxy/events.js'
import { createFetchForwarder, type Forwarder } from '../../src/proxy/forward-fetch.js'
import type { Injection, KeyholeIssuerPrivateJwk, PublicJwks } from '../../src/types.js'
import { cannedRoutes, closedPort, reflectAnswer, startUpstream, type Upstream } from '../kit/index.js'

const HEADER_SECRET = 'ghp_HEADERSECRET0123456789abcdef'
const APIKEY_SECRET = 'sk-APIKEYSECRET-0123456789'
const QUERY_SECRET = 'qs_QUERYSECRET/+value'
const COOKIE_SECRET = 'ck_COOKIESECRET_value'
const SECRETS = [HEADER_SECRET, APIKEY_SECRET, QUERY_SECRET, encodeURIComponent(QUERY_SECRET), COOKIE_SECRET]

let a: Upstream
let b: Upstream
let jwks: PublicJwks
let issuer: KeyholeIssuerPrivateJwk
let opener: Opener
// Accepts the old unsigned tokens too: the private-address rule must tell them apart.
let lenientOpener: Opener
const tokens: string[] = []
const events: ProxyEvent[] = []
const proxyErrorBodies: string[] = []
const nodeForwarders: NodeForwarder[] = []

async function token(
  hosts: string[],
  inject: Injection[],
  extra: { sub?: string; ttl?: string; unsigned?: boolean } = {},
) {
  const minted = await mint(
    { hosts, inject, ttl: extra.ttl ?? '1h', sub: extra.sub ?? 'agent-7' },
    { to: jwks, signWith: extra.unsigned ? undefined : issuer },
  )
  tokens.push(minted)
  return minted
}

const headerInjection: Injection[] = [
  { in: 'header', name: 'Authorization', value: `Bearer ${HEADER_SECRET}` },
  { in: 'header', name: 'X-Api-Key', value: APIKEY_SECRET },
]

beforeAll(async () => {
  a = await startUpstream({ routes: cannedRoutes, answer: reflectAnswer })
  b = await startUpstream({ routes: cannedRoutes, answer: reflectAnswer })
  const keyring = createKeyring([await generateKey()])
  jwks = keyring.publicJwks()
  issuer = await generateKey({ use: 'sig' })
  opener = createOpener({ keyring, issuers: [toPublicJwk(issuer)] })
  lenientOpener = createOpener({ keyring, issuers: [toPublicJwk(issuer)], acceptUnsigned: true })
})

afterAll(async () => {
  for (const f of nodeForwarders) f.destroy()
  await Promise.all([a.close(), b.close()])
})

type Received = Upstream['received'][number]
function echoOf(body: string): { method: string; url: string; rawHeaders: string[]; body: string } {
  return JSON.parse(body)
}
function headerPairs(raw: string[]): [string, string][] {
  const pairs: [string, string][] = []
  for (let i = 0; i < raw.length; i += 2) pairs.push([(raw[i] as string).toLowerCase(), raw[i + 1] as string])
  return pairs
}
function headerValues(raw: string[], name: string): string[] {
  return headerPairs(raw)
    .filter(([n]) => n === name)
    .map(([, v]) => v)
}
// What the upstream received, from its own record: the echo in the response has the injected
// credentials masked by response scrubbing (credentials-and-scrub.test.ts covers that).
function lastReceived(up: Upstream): Received {
  return up.received.at(-1) as Received
}
function serialize(received: Received[]): string {
  return JSON.stringify(
    received.map((r) => ({ url: r.url, rawHeaders: r.rawHeaders, body: r.body.toString('latin1') })),
  )
}

const forwarders: [string, () => Forwarder][] = [
  ['fetch', () => createFetchForwarder()],
  [
    'node',
    () => {
      const f = createNodeForwarder()
      nodeForwarders.push(f)
      return f
    },
  ],
]

describe.each(forwarders)('engine with the %s forwarder', (name, makeForwarder) => {
  let forward: Forwarder
  let handle: ProxyHandler

  // fetch cannot check the address it dials, so its proxies bound their targets to this suite's
  // upstreams (the node forwarder checks every address it dials and needs no bound).
  const bound = (): Partial<ProxyOptions> =>
    name === 'fetch' ? { allowHosts: [a.origin, b.origin, `http://localhost:${a.port}`] } : {}
  const proxy = (options: Partial<ProxyOptions> = {}) =>
    createProxy({ opener, forward, onEvent: (event) => void events.push(event), ...bound(), ...options })

  async function call(h: ProxyHandler, path: string, init: RequestInit & { duplex?: 'half' } = {}) {
    const response = await h(new Request(`http://keyhole.test${path}`, init), { path })
    if (response.headers.has('x-keyhole-error')) proxyErrorBodies.push(await response.clone().text())
    return response
  }

  beforeAll(() => {
    forward = makeForwarder()
    handle = proxy()
  })

  it('injects two headers; the token, inbound authority and hop-by-hop headers never reach upstream', async () => {
    const t = await token([a.origin], headerInjection)
    const before = a.received.length
    const res = await call(handle, `/http/127.0.0.1:${a.port}/echo/headers?x=1`, {
      headers: {
        'X-Keyhole-Token': t,
        'X-Api-Key': 'sandbox-own-key',
        'Proxy-Authorization': 'Basic c2FuZGJveA==',
        Forwarded: 'for=10.0.0.1',
        'X-Forwarded-For': '10.0.0.1',
        'X-Forwarded-Host': 'evil.test',
        Via: '1.1 sandbox',
        'X-Keyhole-Debug': 'please',
        Connection: 'x-secret, x-api-key, keep-alive',
        'X-Secret': 'connection-named',
        'Keep-Alive': 'timeout=1',
        TE: 'trailers',
        Upgrade: 'websocket',
        'X-Custom': 'kept',
        'User-Agent': 'sandbox-sdk/1.0',
      },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-keyhole-error')).toBeNull()
    await res.text()
    expect(a.received.length).toBe(before + 1)
    const echo = lastReceived(a)
    const names = headerPairs(echo.rawHeaders).map(([n]) => n)
    expect(headerValues(echo.rawHeaders, 'authorization')).toEqual([`Bearer ${HEADER_SECRET}`])
    // Connection named x-api-key: the inbound one is gone, the injected one is still sent.
    expect(headerValues(echo.rawHeaders, 'x-api-key')).toEqual([APIKEY_SECRET])
    for (const gone of [
      'x-keyhole-token',
      'proxy-authorization',
      'forwarded',
      'x-forwarded-for',
      'x-forwarded-host',
      'via',
      'x-keyhole-debug',
      'x-secret',
      'te',
      'upgrade',
    ]) {
      expect(names, gone).not.toContain(gone)
    }
    expect(headerValues(echo.rawHeaders, 'connection')).not.toContain('x-secret, x-api-key, keep-alive')
    expect(headerValues(echo.rawHeaders, 'keep-alive')).toEqual([])
    expect(headerValues(echo.rawHeaders, 'x-custom')).toEqual(['kept'])
    expect(headerValues(echo.rawHeaders, 'user-agent')).toEqual(['sandbox-sdk/1.0'])
    expect(headerValues(echo.rawHeaders, 'host')).toEqual([`127.0.0.1:${a.port}`])
    expect(serialize(a.received)).not.toContain(t)
    expect(serialize(a.received)).not.toContain('sandbox-own-key')
  })

  it('replaces an inbound query parameter of the injected name and keeps the rest byte for byte', async () => {
    const t = await token([a.origin], [{ in: 'query', name: 'api_key', value: QUERY_SECRET }])
    const res = await call(
      handle,
      `/http/127.0.0.1:${a.port}/echo/query?q=a%20b&api_key=mine&x=%2F&api%5Fkey=again`,
      {
        headers: { 'x-keyhole-token': t },
      },
    )
    expect(res.status).toBe(200)
    await res.text()
    const echo = lastReceived(a)
    expect(echo.url).toBe(`/echo/query?q=a%20b&x=%2F&api_key=${encodeURIComponent(QUERY_SECRET)}`)
  })

  it('injects a cookie and drops the inbound Cookie header', async () => {
    const t = await token([a.origin], [{ in: 'cookie', name: 'session', value: COOKIE_SECRET }])
    const res = await call(handle, `/http/127.0.0.1:${a.port}/echo/cookie`, {
      headers: { 'x-keyhole-token': t, cookie: 'session=sandbox; other=1' },
    })
    await res.text()
    const echo = lastReceived(a)
    expect(headerValues(echo.rawHeaders, 'cookie')).toEqual([`session=${COOKIE_SECRET}`])
  })

  it('forwards percent-encoding and the query exactly as sent', async () => {
    const t = await token([a.origin], headerInjection)
    const tail = '/echo/a%2Fb/c%20d/%7E~/e+f;g=h/%25/x?q=a%20b&r=%2F%3F%26&s=x+y&t=&u&v=%E2%9C%93&w=a=b'
    const res = await call(handle, `/http/127.0.0.1:${a.port}${tail}`, { headers: { 'x-keyhole-token': t } })
    expect(res.status).toBe(200)
    const echo = echoOf(await res.text())
    console.info(`[${name}] sent ${tail}\n[${name}] got  ${echo.url}`)
    expect(echo.url).toBe(tail)
  })

  it('dot segments: the node forwarder sends them raw, fetch resolves them (both after the policy saw the raw path)', async () => {
    const t = await token([a.origin], headerInjection)
    const res = await call(handle, `/http/127.0.0.1:${a.port}/echo/a/../b/./c/%2e%2E/d`, {
      headers: { 'x-keyhole-token': t },
    })
    const echo = echoOf(await res.text())
    expect(echo.url).toBe(name === 'node' ? '/echo/a/../b/./c/%2e%2E/d' : '/echo/b/d')
  })

  it('refuses a host outside the grant without contacting it, and locks scheme and port', async () => {
    const t = await token([a.origin], headerInjection)
    const beforeA = a.received.length
    const beforeB = b.received.length
    const otherPort = await call(handle, `/http/127.0.0.1:${b.port}/echo`, {
      headers: { 'x-keyhole-token': t },
    })
    expect(otherPort.status).toBe(403)
    expect(otherPort.headers.get('x-keyhole-error')).toBe('host_not_allowed')
    const otherHost = await call(handle, `/https/api.github.com/user`, { headers: { 'x-keyhole-token': t } })
    expect(otherHost.status).toBe(403)
    const upgrade = await call(handle, `/https/127.0.0.1:${a.port}/echo`, {
      headers: { 'x-keyhole-token': t },
    })
    expect(upgrade.status).toBe(403)
    expect(upgrade.headers.get('x-keyhole-error')).toBe('host_not_allowed')
    const defaultPort = await call(handle, `/http/127.0.0.1/echo`, { headers: { 'x-keyhole-token': t } })
    expect(defaultPort.status).toBe(403)
    expect(a.received.length).toBe(beforeA)
    expect(b.received.length).toBe(beforeB)
  })

  it('an unsigned grant naming a private address reaches it only when the operator allows it', async () => {
    // Anyone holding the public JWKS can mint an unsigned grant naming an internal address.
    const t = await token([a.origin], headerInjection, { unsigned: true })
    const before = a.received.length
    const unsigned = (options: Partial<ProxyOptions> = {}) =>
      proxy({ opener: lenientOpener, allowHosts: [a.origin], ...options })
    const outcomes: [number, string | null][] = []
    for (const handler of [
      unsigned(),
      unsigned({ allowPrivateAddresses: ['10.0.0.0/8', 'fd00::/8'] }),
      unsigned({ allowPrivateAddresses: ['127.0.0.1/32'] }),
      unsigned({ allowPrivateAddresses: true }),
    ]) {
      const res = await call(handler, `/http/127.0.0.1:${a.port}/echo`, { headers: { 'x-keyhole-token': t } })
      outcomes.push([res.status, res.headers.get('x-keyhole-error')])
      await res.text()
    }
    expect(outcomes).toEqual([
      [403, 'host_not_allowed'],
      [403, 'host_not_allowed'],
      [200, null],
      [200, null],
    ])
    expect(a.received.length).toBe(before + 2)
    // The same grant, signed by a trusted issuer, names the address and reaches it.
    const signed = await token([a.origin], headerInjection)
    const res = await call(handle, `/http/127.0.0.1:${a.port}/echo`, {
      headers: { 'x-keyhole-token': signed },
    })
    expect(res.status).toBe(200)
    await res.text()
  })

  it('hands a redirect back untouched and never follows it', async () => {
    const t = await token([a.origin], headerInjection)
    const beforeB = b.received.length
    const location = `http://127.0.0.1:${b.port}/steal?x=1`
    const res = await call(handle, `/http/127.0.0.1:${a.port}/redirect?to=${encodeURIComponent(location)}`, {
      headers: { 'x-keyhole-token': t },
    })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe(location)
    expect(res.headers.get('x-keyhole-error')).toBeNull()
    expect(await res.text()).toBe('moved')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(b.received.length).toBe(beforeB)
  })

  it.each([404, 429, 500, 503])('passes an upstream %i through untouched', async (status) => {
    const t = await token([a.origin], headerInjection)
    const res = await call(handle, `/http/127.0.0.1:${a.port}/status/${status}`, {
      headers: { 'x-keyhole-token': t },
    })
    expect(res.status).toBe(status)
    expect(res.headers.get('x-keyhole-error')).toBeNull()
    expect(res.headers.get('retry-after')).toBe('7')
    expect(res.headers.get('x-upstream')).toBe('yes')
    expect(await res.json()).toEqual({ upstream: true, status })
  })

  it('drops hop-by-hop response headers, those named in Connection and forged X-Keyhole-*; keeps Set-Cookie apart', async () => {
    const t = await token([a.origin], headerInjection)
    const hop = await call(handle, `/http/127.0.0.1:${a.port}/hop`, { headers: { 'x-keyhole-token': t } })
    expect(hop.headers.get('x-kept')).toBe('yes')
    for (const gone of [
      'x-up-secret',
      'keep-alive',
      'connection',
      'proxy-authenticate',
      'transfer-encoding',
      'x-keyhole-error',
    ]) {
      expect(hop.headers.get(gone), gone).toBeNull()
    }
    expect(await hop.text()).toBe('hop')
    const cookies = await call(handle, `/http/127.0.0.1:${a.port}/cookies`, {
      headers: { 'x-keyhole-token': t },
    })
    expect(cookies.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; HttpOnly'])
    await cookies.text()
  })

  it('handles HEAD and 204 without a body', async () => {
    const t = await token([a.origin], headerInjection)
    const head = await call(handle, `/http/127.0.0.1:${a.port}/echo/head`, {
      method: 'HEAD',
      headers: { 'x-keyhole-token': t },
    })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    const none = await call(handle, `/http/127.0.0.1:${a.port}/no-content`, {
      headers: { 'x-keyhole-token': t },
    })
    expect(none.status).toBe(204)
    expect(none.body).toBeNull()
  })

  it('compressed responses, scrubbed (the default): both ask for identity and hand the body on decoded', async () => {
    const t = await token([a.origin], headerInjection)
    const res = await call(handle, `/http/127.0.0.1:${a.port}/gzip`, {
      headers: { 'x-keyhole-token': t, 'accept-encoding': 'gzip, zstd' },
    })
    expect(res.headers.get('content-encoding')).toBeNull()
    expect(res.headers.get('content-length')).toBeNull()
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe('compressed hello')
    const sent = a.received.at(-1) as Received
    expect(sent.headers['accept-encoding']).toBe('identity')
  })

  it('compressed responses with scrub: false: node passes the bytes through, fetch hands them on decoded', async () => {
    const t = await token([a.origin], headerInjection)
    const res = await call(proxy({ scrub: false }), `/http/127.0.0.1:${a.port}/gzip`, {
      headers: { 'x-keyhole-token': t, 'accept-encoding': 'gzip, zstd' },
    })
    const bytes = Buffer.from(await res.arrayBuffer())
    if (name === 'node') {
      expect(res.headers.get('content-encoding')).toBe('gzip')
      expect(gunzipSync(bytes).toString()).toBe('compressed hello')
    } else {
      expect(res.headers.get('content-encoding')).toBeNull()
      expect(res.headers.get('content-length')).toBeNull()
      expect(bytes.toString()).toBe('compressed hello')
    }
    const sent = a.received.at(-1) as Received
    expect(sent.headers['accept-encoding']).toBe(name === 'node' ? 'gzip, zstd' : 'gzip')
  })

  it('streams the response: the first chunk arrives while the upstream still holds the rest', async () => {
    const t = await token([a.origin], headerInjection)
    const target = `/gated/${name}`
    const started = performance.now()
    const res = await call(handle, `/http/127.0.0.1:${a.port}${target}`, {
      headers: { 'x-keyhole-token': t },
    })
    const headersAt = performance.now() - started
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const first = await reader.read()
    const firstAt = performance.now() - started
    // The upstream only sends the rest once this test opens the gate, so a buffering proxy
    // would never get here.
    expect(new TextDecoder().decode(first.value)).toBe('first;')
    const releasedAt = performance.now() - started
    a.gate(target).open()
    let rest = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      rest += new TextDecoder().decode(value)
    }
    const endAt = performance.now() - started
    expect(rest).toBe('second')
    console.info(
      `[${name}] streaming: headers ${headersAt.toFixed(1)} ms, first chunk ${firstAt.toFixed(1)} ms, ` +
        `upstream released ${releasedAt.toFixed(1)} ms, last chunk ${endAt.toFixed(1)} ms`,
    )
  })

  it('streams a slow SSE-like response as it comes (arrival times printed, not asserted)', async () => {
    const t = await token([a.origin], headerInjection)
    const started = performance.now()
    const res = await call(handle, `/http/127.0.0.1:${a.port}/slow`, { headers: { 'x-keyhole-token': t } })
    const arrivals: string[] = []
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let text = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value)
      arrivals.push(
        `${JSON.stringify(decoder.decode(value))} at ${(performance.now() - started).toFixed(1)} ms`,
      )
    }
    expect(text).toBe('data: first\n\ndata: second\n\n')
    console.info(
      `[${name}] SSE through the engine (upstream waits 250 ms between events): ${arrivals.join(', ')}`,
    )
  })

  it('streams the request body: the upstream sees the first chunk before the client sent the second', async () => {
    const t = await token([a.origin], headerInjection)
    const encoder = new TextEncoder()
    let step = 0
    const started = performance.now()
    let firstSeenAt = 0
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (step === 0) {
          const seen = a.nextChunk()
          controller.enqueue(encoder.encode('part-1;'))
          step = 1
          // Only continue once the upstream has the first part: a buffering proxy deadlocks here.
          await seen
          firstSeenAt = performance.now() - started
        } else {
          controller.enqueue(encoder.encode('part-2'))
          controller.close()
        }
      },
    })
    const res = await call(handle, `/http/127.0.0.1:${a.port}/upload`, {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { 'x-keyhole-token': t, 'content-type': 'text/plain' },
    })
    const result = (await res.json()) as { bytes: number; sha256: string }
    expect(result.bytes).toBe('part-1;part-2'.length)
    console.info(`[${name}] upload streaming: upstream had part 1 after ${firstSeenAt.toFixed(1)} ms`)
  })

  it('uploads 5 MB byte-identical and downloads 20 MB', async () => {
    const t = await token([a.origin], headerInjection)
    const payload = randomBytes(5 * 1024 * 1024)
    let offset = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= payload.length) return controller.close()
        controller.enqueue(payload.subarray(offset, offset + 65536))
        offset += 65536
      },
    })
    const up = await call(handle, `/http/127.0.0.1:${a.port}/upload`, {
      method: 'PUT',
      body,
      duplex: 'half',
      headers: { 'x-keyhole-token': t },
    })
    const result = (await up.json()) as { bytes: number; sha256: string }
    expect(result).toEqual({
      bytes: payload.length,
      sha256: createHash('sha256').update(payload).digest('hex'),
    })

    const down = await call(handle, `/http/127.0.0.1:${a.port}/big/20`, { headers: { 'x-keyhole-token': t } })
    let total = 0
    const reader = (down.body as ReadableStream<Uint8Array>).getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.byteLength
    }
    expect(total).toBe(20 * 1024 * 1024)
  })

  it('a client going away before the response aborts the upstream request', async () => {
    const t = await token([a.origin], headerInjection)
    const controller = new AbortController()
    const aborted = a.nextAbort()
    const pending = call(handle, `/http/127.0.0.1:${a.port}/hang/${name}-abort`, {
      headers: { 'x-keyhole-token': t },
      signal: controller.signal,
    })
    await a.arrived(`/hang/${name}-abort`)
    controller.abort()
    const seen = await aborted
    expect(seen.url).toBe(`/hang/${name}-abort`)
    const res = await pending
    expect(res.status).toBe(502)
    const event = events.findLast((e) => e.path === `/hang/${name}-abort`)
    expect(event?.outcome).toBe('client_aborted')
    expect(event?.status).toBe(499)
  })

  it('a client going away in the middle of the body aborts the upstream response', async () => {
    const t = await token([a.origin], headerInjection)
    const controller = new AbortController()
    const target = `/gated/${name}-abort`
    const res = await call(handle, `/http/127.0.0.1:${a.port}${target}`, {
      headers: { 'x-keyhole-token': t },
      signal: controller.signal,
    })
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    const aborted = a.nextAbort()
    controller.abort()
    const seen = await aborted
    expect(seen.url).toBe(target)
  })

  it('answers 502 upstream_unreachable when nothing listens', async () => {
    const port = await closedPort()
    const t = await token([`http://127.0.0.1:${port}`], headerInjection)
    const h = name === 'fetch' ? proxy({ allowHosts: [`http://127.0.0.1:${port}`] }) : handle
    const res = await call(h, `/http/127.0.0.1:${port}/x`, { headers: { 'x-keyhole-token': t } })
    expect(res.status).toBe(502)
    expect(res.headers.get('x-keyhole-error')).toBe('upstream_unreachable')
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('upstream_unreachable')
    console.info(`[${name}] unreachable: ${body.error.message}`)
  })

  it('answers 504 upstream_timeout when the upstream hangs, and closes the upstream request', async () => {
    const t = await token([a.origin], headerInjection)
    const quick = proxy({ timeout: '150ms' })
    const aborted = a.nextAbort()
    const res = await call(quick, `/http/127.0.0.1:${a.port}/hang/${name}-timeout`, {
      headers: { 'x-keyhole-token': t },
    })
    expect(res.status).toBe(504)
    expect(res.headers.get('x-keyhole-error')).toBe('upstream_timeout')
    expect((await aborted).url).toBe(`/hang/${name}-timeout`)
  })

  it('gateway mode appends the path to the fixed upstream and still enforces the grant', async () => {
    const gateway = proxy({ upstream: `${a.origin}/base` })
    const t = await token([a.origin], headerInjection)
    const res = await call(gateway, '/echo/x%2Fy?z=1', { headers: { 'x-keyhole-token': t } })
    expect(res.status).toBe(200)
    expect(echoOf(await res.text()).url).toBe('/base/echo/x%2Fy?z=1')
    const elsewhere = await token([b.origin], headerInjection)
    const refused = await call(gateway, '/echo', { headers: { 'x-keyhole-token': elsewhere } })
    expect(refused.status).toBe(403)
  })

  it('reads the token from an operator-listed header and strips that header', async () => {
    const sdk = proxy({ tokenHeaders: ['X-Api-Key'] })
    const t = await token(
      [a.origin],
      [{ in: 'header', name: 'Authorization', value: `Bearer ${HEADER_SECRET}` }],
    )
    const res = await call(sdk, `/http/127.0.0.1:${a.port}/echo/sdk`, { headers: { 'x-api-key': t } })
    expect(res.status).toBe(200)
    await res.text()
    const echo = lastReceived(a)
    expect(headerValues(echo.rawHeaders, 'x-api-key')).toEqual([])
    expect(headerValues(echo.rawHeaders, 'authorization')).toEqual([`Bearer ${HEADER_SECRET}`])
  })

  it('takes the token-shaped value when an SDK sends a placeholder key next to X-Keyhole-Token', async () => {
    const t = await token([a.origin], headerInjection)
    const res = await call(handle, `/http/127.0.0.1:${a.port}/echo/placeholder`, {
      headers: { 'x-keyhole-token': t, authorization: 'Bearer sk-placeholder' },
    })
    expect(res.status).toBe(200)
    await res.text()
    const echo = lastReceived(a)
    expect(headerValues(echo.rawHeaders, 'authorization')).toEqual([`Bearer ${HEADER_SECRET}`])
  })

  it('refuses missing, invalid, doubled and conflicting tokens with 401 before contacting anyone', async () => {
    const t = await token([a.origin], headerInjection)
    const other = await token([a.origin], headerInjection)
    const before = a.received.length
    const url = `/http/127.0.0.1:${a.port}/echo`
    const missing = await call(handle, url)
    expect(missing.status).toBe(401)
    expect(missing.headers.get('x-keyhole-error')).toBe('missing_token')
    expect(missing.headers.get('www-authenticate')).toBe('Bearer')
    expect(missing.headers.get('cache-control')).toBe('no-store')
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await missing.json()).toEqual({ error: { code: 'missing_token', message: expect.any(String) } })

    const invalid = await call(handle, url, { headers: { 'x-keyhole-token': `${t.slice(0, -4)}AAAA` } })
    expect(invalid.headers.get('x-keyhole-error')).toBe('invalid_token')

    const doubled = new Headers()
    doubled.append('x-keyhole-token', t)
    doubled.append('x-keyhole-token', t)
    const twice = await call(handle, url, { headers: doubled })
    expect(twice.status).toBe(401)
    expect(twice.headers.get('x-keyhole-error')).toBe('invalid_token')

    const conflicting = await call(handle, url, {
      headers: { 'x-keyhole-token': t, authorization: `Bearer ${other}` },
    })
    expect(conflicting.status).toBe(401)
    expect(conflicting.headers.get('x-keyhole-error')).toBe('invalid_token')

    const same = await call(handle, url, { headers: { 'x-keyhole-token': t, authorization: `Bearer ${t}` } })
    expect(same.status).toBe(200)
    await same.text()
    expect(a.received.length).toBe(before + 1)
  })

  it.each([
    ['/ftp/127.0.0.1/x', 'unsupported scheme'],
    ['/http/user@127.0.0.1/x', 'userinfo'],
    ['/http/127.0.0.1%3A80/x', 'percent-encoded host'],
    ['/http/', 'no host'],
    ['/http', 'no host segment'],
    ['/https/exa mple.com/', 'space in host'],
    ['/http/127.0.0.1:99999/x', 'port out of range'],
  ])('answers 400 bad_target for %s (%s)', async (path) => {
    const t = await token([a.origin], headerInjection)
    const res = await call(handle, path, { headers: { 'x-keyhole-token': t } })
    expect(res.status).toBe(400)
    expect(res.headers.get('x-keyhole-error')).toBe('bad_target')
  })

  it('refuses local-only names even when the grant names them', async () => {
    const t = await token([`http://localhost:${a.port}`], headerInjection)
    const before = a.received.length
    const res = await call(handle, `/http/localhost:${a.port}/echo`, { headers: { 'x-keyhole-token': t } })
    expect(res.status).toBe(403)
    expect(res.headers.get('x-keyhole-error')).toBe('host_not_allowed')
    expect(a.received.length).toBe(before)
  })

  it('keeps 30 concurrent tokens apart: each request carries only its own credential', async () => {
    const minted = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        token([a.origin], [{ in: 'header', name: 'X-Api-Key', value: `per-token-secret-${i}` }]),
      ),
    )
    const before = a.received.length
    const results = await Promise.all(
      minted.map(async (t, i) => {
        const path = `/echo/concurrent/${i}`
        const res = await call(handle, `/http/127.0.0.1:${a.port}${path}`, {
          headers: { 'x-keyhole-token': t },
        })
        await res.text()
        const sent = a.received.slice(before).filter((r) => r.url === path)
        expect(sent.length).toBe(1)
        return [i, headerValues((sent[0] as Received).rawHeaders, 'x-api-key')] as const
      }),
    )
    for (const [i, values] of results) expect(values).toEqual([`per-token-secret-${i}`])
  })

  it('emits one event per request with ids, target and timings', async () => {
    const t = await token([a.origin], headerInjection, { sub: 'event-subject' })
    const count = events.length
    const res = await call(handle, `/http/127.0.0.1:${a.port}/echo/event/${name}?secret=query-value`, {
      method: 'POST',
      body: 'x',
      headers: { 'x-keyhole-token': t },
    })
    await res.text()
    expect(events.length).toBe(count + 1)
    const event = events.at(-1) as ProxyEvent
    expect(event).toMatchObject({
      outcome: 'ok',
      status: 200,
      method: 'POST',
      sub: 'event-subject',
      scheme: 'http',
      host: '127.0.0.1',
      port: a.port,
      path: `/echo/event/${name}`,
      cacheHit: false,
    })
    expect(event.jti).toMatch(/^[\w-]+$/)
    expect(event.kid).toBe(jwks.keys[0]?.kid)
    for (const phase of ['token', 'open', 'revocation', 'policy', 'upstream', 'total', 'body'] as const) {
      expect(event.timings[phase]).toBeGreaterThanOrEqual(0)
    }
    expect(JSON.stringify(event)).not.toContain('query-value')
  })

  it('with body scrubbing, emits the event once the body is through, and times the body apart', async () => {
    const t = await token([a.origin], headerInjection)
    const count = events.length
    const res = await call(handle, `/http/127.0.0.1:${a.port}/slow`, { headers: { 'x-keyhole-token': t } })
    // The headers are back and the upstream holds its second write for 250 ms: no event yet.
    expect(events.length).toBe(count)
    expect(await res.text()).toContain('second')
    expect(events.length).toBe(count + 1)
    const event = events.at(-1) as ProxyEvent
    // The body cannot have been through before the upstream's second write (250 ms later).
    expect(event.timings.body).toBeGreaterThanOrEqual(200)
  })

  it('a throwing or rejecting onEvent does not break the request', async () => {
    const t = await token([a.origin], headerInjection)
    for (const onEvent of [
      () => {
        throw new Error('listener bug')
      },
      () => Promise.reject(new Error('async listener bug')),
    ]) {
      const res = await call(proxy({ onEvent }), `/http/127.0.0.1:${a.port}/echo/listener`, {
        headers: { 'x-keyhole-token': t },
      })
      expect(res.status).toBe(200)
      await res.text()
    }
  })
})

describe('node forwarder address guard (DNS answers are checked where they are used)', () => {
  const rebind = (_host: string, options: unknown, callback: (...args: unknown[]) => void) => {
    if ((options as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }])
    else callback(null, '127.0.0.1', 4)
  }

  it('refuses a name that resolves to loopback, and never contacts it', async () => {
    const forward = createNodeForwarder({ lookup: rebind as never })
    nodeForwarders.push(forward)
    const handle = createProxy({ opener, forward })
    const t = await mint(
      { hosts: [`http://rebind.test:${a.port}`], inject: headerInjection, ttl: '1h' },
      { to: jwks, signWith: issuer },
    )
    tokens.push(t)
    const before = a.received.length
    const res = await handle(
      new Request(`http://keyhole.test/http/rebind.test:${a.port}/echo/rebind`, {
        headers: { 'x-keyhole-token': t },
      }),
    )
    expect(res.status).toBe(403)
    expect(res.headers.get('x-keyhole-error')).toBe('host_not_allowed')
    proxyErrorBodies.push(await res.text())
    expect(a.received.length).toBe(before)
  })

  it('lets it through when the proxy or the forwarder allows private addresses', async () => {
    const t = await mint(
      { hosts: [`http://rebind.test:${a.port}`], inject: headerInjection, ttl: '1h' },
      { to: jwks, signWith: issuer },
    )
    tokens.push(t)
    const viaProxy = createNodeForwarder({ lookup: rebind as never })
    const viaForwarder = createNodeForwarder({ lookup: rebind as never, allowPrivateAddresses: true })
    nodeForwarders.push(viaProxy, viaForwarder)
    for (const handle of [
      createProxy({ opener, forward: viaProxy, allowPrivateAddresses: true }),
      createProxy({ opener, forward: viaForwarder }),
    ]) {
      const res = await handle(
        new Request(`http://keyhole.test/http/rebind.test:${a.port}/echo/rebind-ok`, {
          headers: { 'x-keyhole-token': t },
        }),
      )
      expect(res.status).toBe(200)
      const echo = echoOf(await res.text())
      expect(headerValues(echo.rawHeaders, 'host')).toEqual([`rebind.test:${a.port}`])
    }
  })
})

describe('node forwarder address guard with operator CIDR ranges', () => {
  const resolvingTo =
    (address: string, family: number) =>
    (_host: string, options: unknown, callback: (...args: unknown[]) => void) => {
      if ((options as { all?: boolean }).all) callback(null, [{ address, family }])
      else callback(null, address, family)
    }

  it('a name resolving to a private address passes only when the dialed address lies in the ranges', async () => {
    const t = await mint(
      { hosts: [`http://rebind.test:${a.port}`], inject: headerInjection, ttl: '1h' },
      { to: jwks, signWith: issuer },
    )
    tokens.push(t)
    const outcomes: string[] = []
    for (const [address, family, ranges] of [
      ['127.0.0.1', 4, ['127.0.0.0/8']],
      ['127.0.0.1', 4, ['10.0.0.0/8', '::1/128']],
      ['::ffff:127.0.0.1', 6, ['127.0.0.1']],
      ['169.254.169.254', 4, ['127.0.0.0/8']],
      ['::1', 6, ['127.0.0.0/8']],
    ] as const) {
      const forward = createNodeForwarder({ lookup: resolvingTo(address, family) as never })
      nodeForwarders.push(forward)
      const handle = createProxy({ opener, forward, allowPrivateAddresses: ranges })
      const before = a.received.length
      const res = await handle(
        new Request(`http://keyhole.test/http/rebind.test:${a.port}/echo/ranges`, {
          headers: { 'x-keyhole-token': t },
        }),
      )
      const contacted = a.received.length > before
      const error = res.headers.get('x-keyhole-error')
      await res.text()
      outcomes.push(
        `${address} ${ranges.join(',')}: ${res.status} ${error ?? ''}${contacted ? ' contacted' : ''}`,
      )
    }
    // An IPv4-mapped answer is judged by the IPv4 range; whether the host can then dial it over
    // IPv6 depends on the machine, so it may fail to connect, but it is never refused.
    expect(outcomes[0]).toBe('127.0.0.1 127.0.0.0/8: 200  contacted')
    expect(outcomes[1]).toBe('127.0.0.1 10.0.0.0/8,::1/128: 403 host_not_allowed')
    expect(outcomes[2]).toMatch(
      /^::ffff:127\.0\.0\.1 127\.0\.0\.1: (200 {2}contacted|502 upstream_unreachable)$/,
    )
    expect(outcomes[3]).toBe('169.254.169.254 127.0.0.0/8: 403 host_not_allowed')
    expect(outcomes[4]).toBe('::1 127.0.0.0/8: 403 host_not_allowed')
  })

  it('createProxy refuses an invalid CIDR range at once', () => {
    const forward = createNodeForwarder()
    nodeForwarders.push(forward)
    expect(() => createProxy({ opener, forward, allowPrivateAddresses: ['10.0.0.0/33'] })).toThrow(
      /not a CIDR range/,
    )
  })
})

describe('secrets', () => {
  it('no token or credential value appears in any event or proxy error body of this suite', () => {
    expect(events.length).toBeGreaterThan(50)
    expect(proxyErrorBodies.length).toBeGreaterThan(10)
    const haystack = JSON.stringify(events) + proxyErrorBodies.join('\n')
    for (const secret of SECRETS) expect(haystack).not.toContain(secret)
    expect(haystack).not.toContain('per-token-secret')
    for (const t of tokens) {
      expect(haystack).not.toContain(t)
      // Not even one of its parts (the ciphertext or the tag alone).
      for (const part of t.split('.').filter((p) => p.length > 16)) expect(haystack).not.toContain(part)
    }
  })
})
