// `_method` in a form or multipart body under a method restriction, through the real engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey } from '../../src/keys/generate-key.js'
import { createKeyring } from '../../src/keys/keyring.js'
import { mint } from '../../src/mint.js'
import { createNodeForwarder } from '../../src/node/node-forwarder.js'
import { createOpener } from '../../src/open/opener.js'
import { createProxy, type ProxyHandler } from '../../src/proxy/create-proxy.js'
import { startUpstream, type Upstream } from '../kit/index.js'
import { testIssuer, testIssuers } from '../kit/issuer.js'

let upstream: Upstream
let proxy: ProxyHandler
let restricted: string
let open: string

beforeAll(async () => {
  upstream = await startUpstream()
  const keyring = createKeyring([await generateKey()])
  const base = {
    hosts: [`http://127.0.0.1:${upstream.port}`],
    inject: [{ in: 'header' as const, name: 'X-Key', value: 'k_BODYMETHOD_secret' }],
    ttl: '10m',
  }
  restricted = await mint({ ...base, methods: ['POST'] }, { to: keyring.publicJwks(), signWith: testIssuer })
  open = await mint(base, { to: keyring.publicJwks(), signWith: testIssuer })
  proxy = createProxy({
    opener: createOpener({ keyring, issuers: testIssuers }),
    forward: createNodeForwarder(),
    maxBufferedBody: 4096,
  })
})
afterAll(() => upstream.close())

function post(token: string, contentType: string, body: string): Promise<Response> {
  return proxy(
    new Request(`http://proxy.test/http/127.0.0.1:${upstream.port}/echo/form`, {
      method: 'POST',
      headers: { 'x-keyhole-token': token, 'content-type': contentType },
      body,
    }),
  )
}

describe('_method in a request body', () => {
  it('refuses a form field naming a method the grant does not allow, before anything is sent', async () => {
    const before = upstream.received.length
    for (const body of [
      'a=1&_method=DELETE',
      '_method=delete',
      'x=%5F&%5Fmethod=PUT',
      '_method=POST&_method=PATCH',
    ]) {
      const response = await post(restricted, 'application/x-www-form-urlencoded', body)
      expect(response.headers.get('x-keyhole-error'), body).toBe('method_not_allowed')
    }
    const multipart = '--b\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--b--\r\n'
    const response = await post(restricted, 'multipart/form-data; boundary=b', multipart)
    expect(response.headers.get('x-keyhole-error')).toBe('method_not_allowed')
    expect(upstream.received.length).toBe(before)
  })

  it("refuses the audit's bypasses: a bent Content-Type, two boundaries, names PHP reads as _method", async () => {
    const before = upstream.received.length
    const cases: [string, string][] = [
      ['application/x-www-form-urlencoded, text/plain', '_method=DELETE'],
      ['application/x-www-form-urlencoded,', '_method=DELETE'],
      ['application/x-www-form-urlencoded x', '_method=DELETE'],
      ['application/x-www-form-urlencoded', '+_method=DELETE'],
      ['application/x-www-form-urlencoded', '.method=DELETE'],
      [
        'multipart/form-data, text/plain; boundary=XX',
        '--XX\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--XX--\r\n',
      ],
      [
        'multipart/form-data; boundary=XX; boundary=YY',
        '--YY\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--YY--\r\n',
      ],
      [
        'multipart/form-data; boundary=b',
        '--b\r\nContent-Disposition: form-data; name=" _method"\r\n\r\nDELETE\r\n--b--\r\n',
      ],
    ]
    for (const [type, body] of cases) {
      const response = await post(restricted, type, body)
      expect({ type, body, code: response.headers.get('x-keyhole-error') }).toEqual({
        type,
        body,
        code: 'method_not_allowed',
      })
    }
    const query = await proxy(
      new Request(`http://proxy.test/http/127.0.0.1:${upstream.port}/echo/q?a=1;_method=DELETE`, {
        method: 'POST',
        headers: { 'x-keyhole-token': restricted },
      }),
    )
    expect(query.headers.get('x-keyhole-error')).toBe('method_not_allowed')
    expect(upstream.received.length).toBe(before)
  })

  it('forwards an allowed form byte for byte with its Content-Length', async () => {
    const before = upstream.received.length
    const body = 'a=1&_method=POST&note=%F0%9F%94%91'
    const response = await post(restricted, 'application/x-www-form-urlencoded', body)
    expect(response.status).toBe(200)
    const seen = upstream.received[before]!
    expect(seen.body.toString()).toBe(body)
    expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(body)))
  })

  it('refuses a form body over maxBufferedBody with 413 and forwards nothing', async () => {
    const before = upstream.received.length
    const response = await post(restricted, 'application/x-www-form-urlencoded', `a=${'x'.repeat(5000)}`)
    expect(response.status).toBe(413)
    expect(response.headers.get('x-keyhole-error')).toBe('body_too_large')
    expect(upstream.received.length).toBe(before)
  })

  it('does not read the body when the grant restricts no method', async () => {
    const response = await post(
      open,
      'application/x-www-form-urlencoded',
      `_method=DELETE&a=${'x'.repeat(5000)}`,
    )
    expect(response.status).toBe(200)
  })
})
