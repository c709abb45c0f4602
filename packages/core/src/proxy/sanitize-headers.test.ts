import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CLIENT_ADDRESS_HEADERS,
  HOP_BY_HOP_HEADERS,
  RANGE_HEADERS,
  REROUTING_HEADERS,
} from '../policy/header-rules.js'
import type { Grant } from '../types.js'
import { compileInjection } from './inject-credentials.js'
import { headersFromRaw } from './raw-headers.js'
import {
  compileStripRules,
  connectionTokens,
  copyRequestHeaders,
  markPassable,
  passableResponseHeaders,
  sanitizeHeaders,
  toPassableResponse,
} from './sanitize-headers.js'

const grant = Object.freeze({
  jti: 'j',
  iat: 0,
  exp: 1,
  kid: 'k',
  hosts: ['api.example.com'],
  inject: [
    { in: 'header', name: 'X-Api-Key', value: 'real' },
    { in: 'cookie', name: 'sid', value: 'abc' },
  ],
}) as Grant

const inbound = () =>
  new Headers({
    'x-keyhole-token': 't',
    authorization: 'Bearer t',
    'proxy-authorization': 'Basic x',
    cookie: 'a=1',
    host: 'proxy.local',
    forwarded: 'for=1.2.3.4',
    'x-forwarded-for': '1.2.3.4',
    'x-forwarded-proto': 'https',
    'x-keyhole-anything': '1',
    via: '1.1 x',
    expect: '100-continue',
    connection: 'X-Named, keep-alive',
    'x-named': 'gone',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    trailer: 'x',
    upgrade: 'h2c',
    'http2-settings': 'x',
    'proxy-connection': 'keep-alive',
    'x-api-key': 'sandbox',
    'x-sdk-key': 't',
    'content-type': 'application/json',
    'content-length': '2',
    'user-agent': 'sdk',
  })

describe('sanitizeHeaders', () => {
  it('strips authority-carrying, hop-by-hop and Connection-named headers', () => {
    const out = sanitizeHeaders(inbound(), { tokenHeaders: ['X-SDK-Key'] })
    expect([...out.keys()].sort()).toEqual([
      'content-length',
      'content-type',
      'cookie',
      'user-agent',
      'x-api-key',
    ])
  })

  it('also strips what the grant injects, and Cookie when it injects a cookie', () => {
    const out = sanitizeHeaders(inbound(), { grant, tokenHeaders: ['x-sdk-key'] })
    expect([...out.keys()].sort()).toEqual(['content-length', 'content-type', 'user-agent'])
  })

  it('removes every hop-by-hop header of the shared list', () => {
    const headers = new Headers(HOP_BY_HOP_HEADERS.map((name): [string, string] => [name, 'x']))
    expect([...sanitizeHeaders(headers).keys()]).toEqual([])
  })
})

describe('copyRequestHeaders', () => {
  it('copies into a plain object and drops Content-Length when no body goes along', () => {
    const rules = compileStripRules(['x-sdk-key'])
    const out = copyRequestHeaders(inbound(), rules, compileInjection(grant), true)
    expect(Object.getPrototypeOf(out)).toBeNull()
    expect({ ...out }).toEqual({ 'content-type': 'application/json', 'user-agent': 'sdk' })
    expect(copyRequestHeaders(inbound(), rules, undefined, false)['content-length']).toBe('2')
  })
})

describe('re-routing, client-address and range headers', () => {
  const names = [
    'X-HTTP-Method-Override',
    'X-HTTP-Method',
    'X-Method-Override',
    'X-Original-URL',
    'X-Rewrite-URL',
    'X-Real-IP',
    'True-Client-IP',
    'X-Client-IP',
    'CF-Connecting-IP',
    'Fastly-Client-IP',
  ]
  const withAll = () =>
    new Headers([
      ...names.map((name): [string, string] => [name, 'x']),
      ['Range', 'bytes=0-9'],
      ['If-Range', '"e"'],
      ['Accept', '*/*'],
    ])

  it('lists exactly the headers the design names', () => {
    expect([...REROUTING_HEADERS, ...CLIENT_ADDRESS_HEADERS]).toEqual(names.map((n) => n.toLowerCase()))
    expect(RANGE_HEADERS).toEqual(['range', 'if-range'])
  })

  it('always drops re-routing and client-address headers; Range and If-Range only with dropRange', () => {
    expect({ ...copyRequestHeaders(withAll(), compileStripRules(), undefined, false) }).toEqual({
      accept: '*/*',
      range: 'bytes=0-9',
      'if-range': '"e"',
    })
    expect({
      ...copyRequestHeaders(withAll(), compileStripRules([], { dropRange: true }), undefined, false),
    }).toEqual({
      accept: '*/*',
    })
    expect([...sanitizeHeaders(withAll()).keys()].sort()).toEqual(['accept', 'if-range', 'range'])
    expect([...sanitizeHeaders(withAll(), { dropRange: true }).keys()]).toEqual(['accept'])
  })

  it('drops them from a raw Node header list too, in any case', () => {
    const raw = [...names.flatMap((name) => [name, '1']), 'RANGE', 'bytes=0-1', 'Accept', 'a']
    const rules = compileStripRules(['x-api-key'], { dropRange: true })
    expect({ ...copyRequestHeaders(headersFromRaw(raw), rules, undefined, false) }).toEqual({ accept: 'a' })
    expect(compileStripRules(['x-api-key']).names.has('range')).toBe(false)
  })
})

describe('connectionTokens', () => {
  it('lower-cases and trims, skipping empty entries', () => {
    expect(connectionTokens(' Keep-Alive , ,X-Foo')).toEqual(['keep-alive', 'x-foo'])
    expect(connectionTokens(null)).toBeUndefined()
  })
})

describe('response headers', () => {
  it('reports clean headers as nothing to do', () => {
    expect(passableResponseHeaders(new Headers({ 'content-type': 'text/plain' }))).toBeUndefined()
  })

  it('drops hop-by-hop and Connection-named headers and keeps Set-Cookie apart', () => {
    const headers = new Headers([
      ['connection', 'x-hop'],
      ['x-hop', '1'],
      ['transfer-encoding', 'chunked'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['x-kept', 'yes'],
    ])
    const out = passableResponseHeaders(headers) as Headers
    expect([...out.keys()]).toEqual(['set-cookie', 'set-cookie', 'x-kept'])
    expect(out.getSetCookie()).toEqual(['a=1', 'b=2'])
  })

  it('returns the same response when it is clean or already marked, a new one otherwise', async () => {
    const clean = new Response('x', { headers: { 'x-a': '1' } })
    expect(toPassableResponse(clean)).toBe(clean)
    const marked = markPassable(new Response('x', { headers: { connection: 'close' } }))
    expect(toPassableResponse(marked)).toBe(marked)
    const dirty = new Response('body', {
      status: 201,
      statusText: 'Made',
      headers: { 'keep-alive': '1', 'x-a': '1' },
    })
    const passed = toPassableResponse(dirty)
    expect(passed).not.toBe(dirty)
    expect(passed.status).toBe(201)
    expect(passed.statusText).toBe('Made')
    expect(passed.headers.get('keep-alive')).toBeNull()
    expect(await passed.text()).toBe('body')
  })
})

describe('copyRequestHeaders over a raw Node header list', () => {
  const name = fc.oneof(
    fc.constantFrom(
      'Authorization',
      'x-keyhole-token',
      'Connection',
      'X-Forwarded-For',
      'Cookie',
      'cookie',
      'Set-Cookie',
      'Content-Length',
      'X-Api-Key',
      'x-secret',
      'Accept',
      'accept',
      'Keep-Alive',
    ),
    fc.string({ unit: fc.constantFrom(...'abxyzAB-'.split('')), minLength: 1, maxLength: 6 }),
  )
  const value = fc.oneof(
    fc.constantFrom('x-secret, keep-alive', 'close', 'a=1', ''),
    fc.string({ unit: fc.constantFrom(...'ab ,;=1'.split('')), maxLength: 8 }),
  )

  it('copies exactly what the Headers path copies (property)', () => {
    const rules = compileStripRules(['x-api-key'])
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, value), { maxLength: 14 }),
        fc.boolean(),
        fc.boolean(),
        (pairs, injectCookie, drop) => {
          const raw = pairs.flat()
          const real = new Headers()
          for (const [n, v] of pairs) real.append(n, v)
          const injected = { headerNames: new Set(['accept']), cookie: injectCookie }
          expect(copyRequestHeaders(headersFromRaw(raw), rules, injected, drop)).toEqual(
            copyRequestHeaders(real, rules, injected, drop),
          )
        },
      ),
      { numRuns: 1000 },
    )
  })
})
