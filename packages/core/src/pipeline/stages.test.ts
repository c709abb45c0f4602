import { describe, expect, it } from 'vitest'
import { isKeyholeError, KeyholeError } from '../errors.js'
import { closeSignal } from '../proxy/close-signal.js'
import type { ProxyEvent } from '../proxy/events.js'
import type { Forwarder, ForwardInit } from '../proxy/forward-fetch.js'
import { rememberBody } from '../proxy/known-body.js'
import type { Grant } from '../types.js'
import { compileAdmission } from './admission.js'
import { answer } from './answer.js'
import { authorizeTarget } from './authorize-target.js'
import { buildUpstream } from './build-upstream.js'
import { fail } from './fail.js'
import { compileForwarding } from './forwarding.js'
import { openGrant } from './open-grant.js'
import type { ProxyOpener } from './options.js'
import { readRequest } from './read-request.js'
import { emitRequestEvent } from './request-event.js'
import { startRequest } from './request-state.js'
import { sendUpstream } from './send-upstream.js'

// Each stage run alone over a request state, with an opener that hands out fixed grants.
const TOKEN = 'eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.a2V5.aXY.Y2lwaGVy.dGFn'
const grant = Object.freeze({
  jti: 'jti-stages',
  iat: 0,
  exp: 4_000_000_000,
  kid: 'kid-1',
  issuerKid: 'issuer-1',
  hosts: ['api.example.com', 'http://10.0.0.5:8080'],
  paths: ['/v1/**'],
  inject: [
    { in: 'header', name: 'Authorization', value: 'Bearer real' },
    { in: 'query', name: 'key', value: 'q s' },
  ],
}) as Grant
const unsignedGrant = Object.freeze({ ...grant, jti: 'jti-unsigned', issuerKid: undefined }) as Grant
const opener: ProxyOpener = {
  async open(token) {
    if (token === TOKEN) return grant
    if (token === `${TOKEN}u`) return unsignedGrant
    throw new KeyholeError('invalid_token', 'no', { reason: 'bad_signature' })
  },
}

const plain: Forwarder = async () => new Response('ok')

const request = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  new Request(`http://p${path}`, { method, headers })

describe('compileAdmission and compileForwarding', () => {
  const refusal = (fn: () => unknown) => {
    try {
      fn()
    } catch (error) {
      return isKeyholeError(error, 'bad_request') ? error.message : `other: ${error}`
    }
    return 'accepted'
  }

  it('refuses an opener that accepts unsigned tokens unless allowHosts bounds the targets', () => {
    const lenient = { ...opener, acceptsUnsigned: true }
    expect(refusal(() => compileAdmission({ opener: lenient }))).toMatch(/unsigned.*allowHosts/)
    expect(refusal(() => compileAdmission({ opener: lenient, upstream: 'https://api.example.com' }))).toMatch(
      /allowHosts/,
    )
    expect(refusal(() => compileAdmission({ opener: lenient, allowHosts: ['api.example.com'] }))).toBe(
      'accepted',
    )
    expect(refusal(() => compileAdmission({ opener: { ...opener, acceptsUnsigned: false } }))).toBe(
      'accepted',
    )
  })

  it('refuses bad allowHosts patterns and CIDR ranges at once', () => {
    for (const allowHosts of [[], ['https://a.example.com/path'], ['*'], ['a b']]) {
      expect(refusal(() => compileAdmission({ opener, allowHosts }))).toMatch(/allowHosts/)
    }
    for (const allowPrivateAddresses of [['10.0.0.0/33'], ['localhost'], '10.0.0.0/8' as never]) {
      expect(refusal(() => compileAdmission({ opener, allowPrivateAddresses }))).toMatch(
        /allowPrivateAddresses/,
      )
    }
  })

  it('takes a forwarder that cannot check dialed addresses only when something else bounds the risk', () => {
    const admission = (options: object = {}) => compileAdmission({ opener, ...options })
    const open = admission()
    expect(refusal(() => compileForwarding({ opener, forward: plain }, open))).toMatch(
      /does not check the addresses it dials/,
    )
    // The default forwarder is fetch, which cannot either.
    expect(refusal(() => compileForwarding({ opener }, open))).toMatch(/createNodeForwarder/)
    const bounded = admission({ allowHosts: ['api.example.com'] })
    expect(refusal(() => compileForwarding({ opener, forward: plain }, bounded))).toBe('accepted')
    const gateway = admission({ upstream: 'http://10.0.0.5:8080' })
    expect(refusal(() => compileForwarding({ opener, forward: plain }, gateway))).toBe('accepted')
    for (const capabilities of [{ checksDialedAddress: true }, { reachesPrivateNetworks: false }]) {
      const declared = Object.assign(async () => new Response('ok'), { capabilities })
      expect(refusal(() => compileForwarding({ opener, forward: declared }, open))).toBe('accepted')
    }
    const claimsNothing = Object.assign(async () => new Response('ok'), {
      capabilities: { checksDialedAddress: false, reachesPrivateNetworks: true },
    })
    expect(refusal(() => compileForwarding({ opener, forward: claimsNothing }, open))).not.toBe('accepted')
  })
})

describe('readRequest', () => {
  it("reads a Bearer token whether or not tokenHeaders lists 'Authorization'", () => {
    for (const tokenHeaders of [undefined, ['Authorization'], ['authorization', 'X-Keyhole-Token']]) {
      const admission = compileAdmission({ opener, tokenHeaders })
      const state = startRequest(
        admission,
        request('/https/api.example.com/v1/x', { authorization: `Bearer ${TOKEN}` }),
        undefined,
      )
      readRequest(state, admission)
      expect(state.token).toBe(TOKEN)
      expect(state.raw?.url).toBe('https://api.example.com/v1/x')
    }
  })

  it('takes the target from the context path before the request URL', () => {
    const admission = compileAdmission({ opener })
    const state = startRequest(admission, request('/ignored', { 'x-keyhole-token': TOKEN }), {
      path: '/https/api.example.com/v1/a%2Fb?q=1',
    })
    readRequest(state, admission)
    expect(state.raw).toEqual({
      url: 'https://api.example.com/v1/a%2Fb?q=1',
      scheme: 'https',
      path: '/v1/a%2Fb',
      search: '?q=1',
    })
  })
})

describe('authorizeTarget', () => {
  async function authorized(path: string, options: object = {}, token = TOKEN, method = 'GET') {
    const admission = compileAdmission({ opener, ...options })
    const state = startRequest(admission, request(path, { 'x-keyhole-token': token }, method), undefined)
    readRequest(state, admission)
    state.grant = await openGrant(state, admission)
    try {
      authorizeTarget(state, admission)
    } catch (error) {
      return { state, error: (error as KeyholeError).code }
    }
    return { state, error: undefined }
  }

  it('applies the grant, the operator bound and the address rule, in that order', async () => {
    expect((await authorized('/https/api.example.com/v1/x')).error).toBeUndefined()
    expect((await authorized('/https/api.example.com/v2/x')).error).toBe('path_not_allowed')
    const bound = { allowHosts: ['other.example.com'] }
    expect((await authorized('/https/api.example.com/v1/x', bound)).error).toBe('host_not_allowed')
    // Same host, other port or scheme: the operator's patterns lock both, as grant patterns do.
    for (const allowHosts of [['api.example.com:8443'], ['http://api.example.com']]) {
      expect((await authorized('/https/api.example.com/v1/x', { allowHosts })).error).toBe('host_not_allowed')
    }
  })

  it('lets a signed grant reach the private address it names, never an unsigned one', async () => {
    const signed = await authorized('/http/10.0.0.5:8080/v1/x')
    expect(signed.error).toBeUndefined()
    expect(signed.state.privateAddresses).toBe(true)
    const unsigned = await authorized('/http/10.0.0.5:8080/v1/x', {}, `${TOKEN}u`)
    expect(unsigned.error).toBe('host_not_allowed')
    const ranged = await authorized(
      '/http/10.0.0.5:8080/v1/x',
      { allowPrivateAddresses: ['10.0.0.0/24'] },
      `${TOKEN}u`,
    )
    expect(ranged.error).toBeUndefined()
    // Gateway mode: the operator chose the upstream, so the address rule does not apply.
    const gateway = await authorized('/v1/x', { upstream: 'http://10.0.0.5:8080' }, `${TOKEN}u`)
    expect(gateway.error).toBeUndefined()
    expect(gateway.state.privateAddresses).toBe(true)
  })

  it('remembers the last target per grant and pipeline, and still checks a different one', async () => {
    const admission = compileAdmission({ opener })
    const run = async (path: string, method = 'GET') => {
      const state = startRequest(admission, request(path, { 'x-keyhole-token': TOKEN }, method), undefined)
      readRequest(state, admission)
      state.grant = await openGrant(state, admission)
      authorizeTarget(state, admission)
      return state.target
    }
    const first = await run('/https/api.example.com/v1/x')
    expect(await run('/https/api.example.com/v1/x')).toBe(first)
    expect(admission.lastAuthorized.get(grant)?.url).toBe('https://api.example.com/v1/x')
    const put = await run('/https/api.example.com/v1/x', 'PUT')
    expect(put).not.toBe(first)
    expect(admission.lastAuthorized.get(grant)?.method).toBe('PUT')
    await expect(run('/https/api.example.com/nope')).rejects.toThrow(/path/)
  })
})

describe('buildUpstream', () => {
  it('strips what carried authority, injects the credentials once, and keeps the rest byte for byte', async () => {
    const admission = compileAdmission({ opener, tokenHeaders: ['x-api-key'] })
    const state = startRequest(
      admission,
      request(
        '/https/api.example.com/v1/a%20b?key=mine&z=%20',
        {
          'x-api-key': TOKEN,
          authorization: 'Bearer sandbox',
          'x-forwarded-for': '10.0.0.1',
          connection: 'x-hop',
          'x-hop': '1',
          'x-kept': 'yes',
          'content-length': '4',
        },
        'POST',
      ),
      undefined,
    )
    readRequest(state, admission)
    state.grant = await openGrant(state, admission)
    authorizeTarget(state, admission)
    buildUpstream(state, admission)
    expect(state.url).toBe('https://api.example.com/v1/a%20b?z=%20&key=q%20s')
    expect(state.path).toBe('/v1/a%20b?z=%20&key=q%20s')
    expect({ ...state.headers }).toEqual({
      Authorization: 'Bearer real',
      'x-kept': 'yes',
      'content-length': '4',
      // Scrubbing bodies (the default) asks the upstream for an unencoded body.
      'accept-encoding': 'identity',
    })
  })
})

describe('sendUpstream, answer, fail and the event', () => {
  it('gives a plain forwarder a real AbortSignal, also when the adapter passes a closeSignal', async () => {
    const admission = compileAdmission({ opener, allowHosts: ['api.example.com'] })
    let seen: ForwardInit | undefined
    const forwarding = compileForwarding(
      {
        opener,
        forward: async (_url, init) => {
          seen = init
          return new Response('ok', { headers: { 'x-keyhole-error': 'forged', connection: 'close' } })
        },
      },
      admission,
    )
    const signal = closeSignal({ once: () => undefined, writableFinished: false })
    const state = startRequest(
      admission,
      request('/https/api.example.com/v1/x', { 'x-keyhole-token': TOKEN }),
      {
        signal,
      },
    )
    readRequest(state, admission)
    state.grant = await openGrant(state, admission)
    authorizeTarget(state, admission)
    buildUpstream(state, admission)
    const upstream = await sendUpstream(state, forwarding)
    expect(seen?.signal).toBeInstanceOf(AbortSignal)
    expect(seen?.signal).not.toBe(signal)
    expect(seen?.keyhole).toMatchObject({ host: 'api.example.com', port: 443, privateAddresses: false })
    expect(seen?.keyhole?.timeout).toBeUndefined()
    answer(state, admission, forwarding, upstream)
    // Not a clean forwarder: an upstream cannot pass its errors off as the proxy's.
    expect(state.response?.headers.get('x-keyhole-error')).toBeNull()
  })

  it('scrubs a small body the forwarder registered without reading the Response (no web stream)', async () => {
    const admission = compileAdmission({ opener, allowHosts: ['api.example.com'] })
    const echo = new TextEncoder().encode('{"echo":"Bearer real","n":1}')
    let bodyRead = false
    const forward = Object.assign(
      async () => {
        const response = new Response(echo, {
          status: 200,
          statusText: 'Fine',
          headers: { 'content-length': String(echo.byteLength), 'x-echo': 'Bearer real' },
        })
        rememberBody(response, { bytes: echo, statusText: 'Fine' })
        // What a server's lightweight Response does on these reads: build a full one. Here they
        // must not happen at all.
        for (const name of ['body', 'statusText', 'arrayBuffer'] as const) {
          Object.defineProperty(response, name, {
            get() {
              bodyRead = true
              return undefined
            },
          })
        }
        return response
      },
      { capabilities: { appliesTimeout: true, checksDialedAddress: true, cleanResponses: true } },
    )
    const forwarding = compileForwarding({ opener, forward }, admission)
    const state = startRequest(
      admission,
      request('/https/api.example.com/v1/x', { 'x-keyhole-token': TOKEN }),
      {},
    )
    readRequest(state, admission)
    state.grant = await openGrant(state, admission)
    authorizeTarget(state, admission)
    buildUpstream(state, admission)
    const done = answer(state, admission, forwarding, await sendUpstream(state, forwarding))
    // Answered at once: nothing to wait for when the bytes are already here.
    expect(done).toBeUndefined()
    expect(bodyRead).toBe(false)
    expect(state.response?.status).toBe(200)
    expect(state.response?.statusText).toBe('Fine')
    // The injected header's whole value is a secret form: masked byte for byte.
    const masked = '*'.repeat('Bearer real'.length)
    expect(state.response?.headers.get('x-echo')).toBe(masked)
    expect(await state.response?.text()).toBe(`{"echo":"${masked}","n":1}`)
    expect(state.scrubbed).toBe(2)
  })

  it('hands a forwarder that applies the timeout the client signal and the timeout', async () => {
    const admission = compileAdmission({ opener })
    let seen: ForwardInit | undefined
    const forward = Object.assign(
      async (_url: string, init: ForwardInit) => {
        seen = init
        return new Response('ok')
      },
      { capabilities: { appliesTimeout: true, checksDialedAddress: true, cleanResponses: true } },
    )
    const forwarding = compileForwarding({ opener, forward, timeout: '7s' }, admission)
    const signal = new AbortController().signal
    const state = startRequest(
      admission,
      request('/https/api.example.com/v1/x', { 'x-keyhole-token': TOKEN }),
      {
        signal,
      },
    )
    readRequest(state, admission)
    state.grant = await openGrant(state, admission)
    authorizeTarget(state, admission)
    buildUpstream(state, admission)
    await sendUpstream(state, forwarding)
    expect(seen?.signal).toBe(signal)
    expect(seen?.keyhole?.timeout).toBe(7000)
  })

  it('fail() answers with the code, keeps the reason for the event only, and the event names the issuer', async () => {
    const events: ProxyEvent[] = []
    const admission = compileAdmission({ opener, onEvent: (event) => void events.push(event) })
    const refused = startRequest(
      admission,
      request('/https/api.example.com/v1/x', { 'x-keyhole-token': 'x.y.z.a.b' }),
      undefined,
    )
    readRequest(refused, admission)
    await openGrant(refused, admission).catch((error: unknown) => fail(refused, admission, error))
    emitRequestEvent(refused, admission)
    expect(refused.response?.status).toBe(401)
    const body = await refused.response?.text()
    expect(body).not.toContain('bad_signature')
    expect(events[0]).toMatchObject({ outcome: 'invalid_token', reason: 'bad_signature', status: 401 })

    const ok = startRequest(
      admission,
      request('/https/api.example.com/v1/x', { 'x-keyhole-token': TOKEN }),
      undefined,
    )
    readRequest(ok, admission)
    ok.grant = await openGrant(ok, admission)
    ok.response = new Response('fine')
    emitRequestEvent(ok, admission)
    expect(events[1]).toMatchObject({
      outcome: 'ok',
      jti: 'jti-stages',
      issuerKid: 'issuer-1',
      host: 'api.example.com',
    })
    expect(events[1]?.reason).toBeUndefined()
  })
})
