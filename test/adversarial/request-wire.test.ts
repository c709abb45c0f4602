// The request attacked, on the wire: path tricks against a path-restricted grant, absolute-form
// request targets and Host disagreements, redirects to other hosts and schemes, hop-by-hop and
// Connection tricks, doubled token headers, request-smuggling shapes and oversized headers —
// all sent as raw bytes over node:net. Each test ends with: no decoy saw a request, and every
// request the granted upstream saw carries exactly its own token's credentials.

import { createOpener } from '@keyhole/core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { testIssuers } from '../../packages/core/test/kit/issuer.js'
import { type RawReply, rawExchange, rawRequest, statuses } from './harness/client.js'
import { PROXY_KINDS, type ProxyKind, type RunningProxy, startProxy } from './harness/proxies.js'
import { GRANTED_NAME, grantedToken, type Scene, startScene } from './harness/scene.js'
import { leaks } from './harness/secrets.js'
import { type Minted, makeKeys, mintFor } from './harness/tokens.js'
import { hitText, type Recorder, startRecorder } from './harness/upstream.js'

let scene: Scene
let P: number

beforeAll(async () => {
  scene = await startScene()
  P = scene.granted.port
  // An upstream that answers like keyhole itself would, to make a client believe its token is bad.
  scene.granted.route('/forged-keyhole-error', (_req, res) => {
    res
      .writeHead(401, {
        'content-type': 'application/json',
        'x-keyhole-error': 'token_revoked',
        'X-Keyhole-Token': 'upstream-made',
        'www-authenticate': 'Bearer error="invalid_token"',
      })
      .end('{"error":{"code":"token_revoked","message":"forged"}}')
    return true
  })
  scene.granted.route('/redirect', (req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams
    res.writeHead(Number(query.get('status') ?? 302), { location: query.get('to') ?? '/' })
    res.end('moved')
    return true
  })
})
afterAll(() => scene.close())
afterEach(() => {
  expect(scene.decoys.flatMap((d) => d.texts())).toEqual([])
  expect(leaks()).toEqual([])
})

function proxy(kind: ProxyKind): RunningProxy {
  return scene.proxies.get(kind)!
}

function target(kind: ProxyKind, path: string): string {
  return `${proxy(kind).prefix}/http/${GRANTED_NAME}:${P}${path}`
}

function withToken(token: string, ...more: [string, string][]): [string, string][] {
  return [['Host', `127.0.0.1`], ['X-Keyhole-Token', token], ...more]
}

/** The granted upstream's hits since `before`, each checked to carry exactly `minted`'s credentials. */
function hitsSince(before: number, minted: Minted): string[] {
  const texts = scene.granted.hits.slice(before).map(hitText)
  for (const text of texts) {
    for (const value of minted.values)
      expect(text.split(value).length - 1, `${value} once in\n${text}`).toBe(1)
    expect(text).not.toMatch(/attacker/i)
  }
  return texts
}

describe.each(PROXY_KINDS)('%s', (kind) => {
  it('path tricks against /v1/allowed/**: the credential only ever goes with an allowed, clean path', async () => {
    const minted = await grantedToken(scene, { paths: ['/v1/allowed/**'] })
    const paths = [
      '/v1/allowed/x',
      '/v1/allowed/../secret',
      '/v1/allowed/./../secret',
      '/v1/allowed/%2e%2e/secret',
      '/v1/allowed/%2E%2E/secret',
      '/v1/allowed/.%2e/secret',
      '/v1/allowed/%2e./secret',
      '/v1/allowed/..%2fsecret',
      '/v1/allowed/..%2Fsecret',
      '/v1/allowed%2f..%2fsecret',
      '/v1/allowed/%2f..%2fsecret',
      '/v1/allowed/..\\secret',
      '/v1/allowed\\..\\secret',
      '/v1/allowed/%5c..%5csecret',
      '/v1/allowed/..;/secret',
      '/v1/allowed/%2e%2e;x/secret',
      '/v1/allowed/%252e%252e/secret',
      '/v1/allowed/%252f..%252fsecret',
      '/v1/allowed/%c0%ae%c0%ae/secret',
      '/v1/allowed/%e0%80%ae%e0%80%ae/secret',
      '/v1/allowed/%00/../secret',
      '/v1/allowed/x%00',
      '/v1/Allowed/x',
      '/V1/allowed/x',
      '/v1/allowed',
      '/v1//allowed/x',
      '//v1/allowed/x',
      '/v1/./allowed/x',
      '/./v1/allowed/x',
      '/v1/allowed/x/../../secret',
      '/v1/allowed/x?../../secret',
      '/v1/allowed/x#/../../secret',
      '/v1/allowed/%2e%2e/%2e%2e/%2e%2e/%2e%2e/http/evil.test:1/x',
      '/v1/allowed/../../../../../http/evil.test:1/x',
      '/v1/allowed/\u2025/secret',
      '/v1/allowed/\uff0e\uff0e/secret',
      // Fullwidth dots are not dots to RFC 3986: forwarded as they are (see SECURITY.md).
      '/v1/allowed/%ef%bc%8e%ef%bc%8e/secret',
      '/v1/secret',
      '/secret',
    ]
    const before = scene.granted.hits.length
    let reached = 0
    for (const path of paths) {
      const reply = await rawRequest(proxy(kind).port, {
        target: target(kind, path),
        headers: withToken(minted.token),
      })
      expect(reply.status, `${path}: ${reply.status} ${reply.code}`).toBeLessThan(500)
      expect(reply.status, path).not.toBe(0)
      if (reply.status === 200) reached++
    }
    expect(reached).toBeGreaterThan(0)
    expect(scene.granted.hits.length - before).toBe(reached)
    hitsSince(before, minted)
    for (const hit of scene.granted.hits.slice(before)) {
      const path = hit.url.split('?')[0]!
      expect(path, hit.url).toMatch(/^\/v1\/allowed\//)
      expect(path, hit.url).not.toMatch(/\.\.|%2e|%2f|%5c|\\|%00|%25/i)
    }
  }, 60_000)

  it('absolute-form request targets and Host disagreements never choose the upstream', async () => {
    const minted = await grantedToken(scene)
    const port = proxy(kind).port
    const before = scene.granted.hits.length
    const cases: { label: string; target: string; headers: [string, string][] }[] = [
      {
        label: 'absolute-form naming a decoy, path naming the granted host',
        target: `http://evil.test:${P}${target(kind, '/x')}`,
        headers: withToken(minted.token),
      },
      {
        label: 'absolute-form naming the proxy, path naming a decoy',
        target: `http://127.0.0.1:${port}${proxy(kind).prefix}/http/evil.test:${P}/x`,
        headers: withToken(minted.token),
      },
      {
        label: 'absolute-form https naming the granted host directly',
        target: `https://${GRANTED_NAME}:${P}/x`,
        headers: withToken(minted.token),
      },
      {
        label: 'Host names a decoy',
        target: target(kind, '/x'),
        headers: [
          ['Host', `evil.test:${P}`],
          ['X-Keyhole-Token', minted.token],
        ],
      },
      {
        label: 'Host with a path and userinfo',
        target: target(kind, '/x'),
        headers: [
          ['Host', `${GRANTED_NAME}:${P}@evil.test/x`],
          ['X-Keyhole-Token', minted.token],
        ],
      },
      {
        label: 'two Host headers',
        target: target(kind, '/x'),
        headers: [
          ['Host', `evil.test:${P}`],
          ['Host', `127.0.0.1:${port}`],
          ['X-Keyhole-Token', minted.token],
        ],
      },
      {
        label: 'X-Forwarded-Host and Forwarded name a decoy',
        target: target(kind, '/x'),
        headers: withToken(
          minted.token,
          ['X-Forwarded-Host', `evil.test:${P}`],
          ['Forwarded', `host=evil.test:${P};proto=http`],
        ),
      },
      { label: 'asterisk-form', target: '*', headers: withToken(minted.token) },
      { label: 'authority-form', target: `evil.test:${P}`, headers: withToken(minted.token) },
    ]
    let reached = 0
    for (const c of cases) {
      const reply = await rawRequest(port, { target: c.target, headers: c.headers })
      expect(reply.status, `${c.label}: ${reply.raw.slice(0, 60)}`).toBeGreaterThanOrEqual(200)
      expect(reply.status, c.label).toBeLessThan(500)
      if (reply.status === 200) reached++
    }
    const connect = await rawExchange(
      port,
      `CONNECT evil.test:${P} HTTP/1.1\r\nHost: evil.test:${P}\r\nX-Keyhole-Token: ${minted.token}\r\n\r\n`,
    )
    for (const status of statuses(connect)) expect(status).toBeLessThan(500)
    expect(scene.granted.hits.length - before).toBe(reached)
    for (const text of hitsSince(before, minted))
      expect(text.toLowerCase()).toContain(`\nhost: ${GRANTED_NAME}:${P}\n`)
  }, 30_000)

  it('redirects to other hosts and schemes go back to the client; nothing follows them', async () => {
    const minted = await grantedToken(scene)
    const before = scene.granted.hits.length
    const locations = [
      `http://evil.test:${P}/steal`,
      `http://127.0.0.2:${P}/steal`,
      `http://127.0.0.1:${scene.otherPort.port}/steal`,
      `https://${GRANTED_NAME}:${P}/steal`,
      `//evil.test:${P}/steal`,
      `/http/evil.test:${P}/steal`,
      `${proxy(kind).prefix}/http/evil.test:${P}/steal`,
      'javascript:alert(1)',
    ]
    for (const status of [301, 302, 303, 307, 308]) {
      for (const to of locations) {
        const reply = await rawRequest(proxy(kind).port, {
          target: target(kind, `/redirect?status=${status}&to=${encodeURIComponent(to)}`),
          headers: withToken(minted.token),
        })
        expect(reply.status, `${status} ${to}`).toBe(status)
        expect(reply.code).toBeUndefined()
        expect(reply.raw.toLowerCase()).toContain(`location: ${to.toLowerCase()}`)
      }
    }
    expect(scene.granted.hits.length - before).toBe(5 * locations.length)
    hitsSince(before, minted)
  }, 60_000)

  it('an upstream cannot pose as keyhole: X-Keyhole-* response headers are not passed on', async () => {
    const minted = await grantedToken(scene)
    const reply = await rawRequest(proxy(kind).port, {
      target: target(kind, '/forged-keyhole-error'),
      headers: withToken(minted.token),
    })
    // The upstream's own status and body pass through; only keyhole may say X-Keyhole-Error.
    expect(reply.status).toBe(401)
    expect(reply.body).toContain('forged')
    expect(reply.code).toBeUndefined()
    expect(reply.raw.toLowerCase()).not.toContain('x-keyhole-')
  })

  it('hop-by-hop and Connection tricks cannot drop, duplicate or replace the injected credentials', async () => {
    const minted = await grantedToken(scene, { inject: ['header', 'cookie', 'query', 'apikey'] })
    const before = scene.granted.hits.length
    const reply = await rawRequest(proxy(kind).port, {
      // `API_KEY` is another parameter (names are case-sensitive): it stays, and is the sandbox's own.
      target: target(kind, '/x?api_key=attacker&keep=1&API_KEY=mine'),
      headers: [
        ['Host', 'x'],
        ['X-Keyhole-Token', minted.token],
        ['Connection', 'Authorization, Cookie, X-Api-Key, X-Custom, Keep-Alive, close'],
        ['Authorization', 'Basic attacker'],
        ['AUTHORIZATION', 'Bearer attacker'],
        ['Cookie', 'session=attacker; other=kept'],
        ['X-Api-Key', 'attacker'],
        ['X-Custom', 'drop-me'],
        ['Proxy-Authorization', 'Basic attacker'],
        ['Proxy-Connection', 'keep-alive'],
        ['Forwarded', 'for=1.2.3.4;host=evil.test'],
        ['X-Forwarded-For', '1.2.3.4'],
        ['X-Forwarded-Host', 'evil.test'],
        ['X-Forwarded-Proto', 'https'],
        ['X-Keyhole-Debug', '1'],
        ['Via', '1.1 evil'],
        ['TE', 'trailers'],
        ['Upgrade', 'websocket'],
        ['Keep-Alive', 'timeout=5'],
        ['Trailer', 'X-Late'],
        ['X-Kept', 'kept'],
      ],
    })
    expect(reply.status).toBe(200)
    const [text] = hitsSince(before, minted)
    const lower = text!.toLowerCase()
    for (const name of [
      'x-custom',
      'proxy-authorization',
      'proxy-connection',
      'forwarded',
      'x-forwarded-',
      'x-keyhole-',
      'via:',
      'te:',
      'upgrade',
      'keep-alive: timeout',
      'trailer',
    ])
      expect(lower, name).not.toContain(name)
    expect(lower).toContain('x-kept: kept')
    // Exactly one of each injected credential (checked by hitsSince), inbound ones gone.
    expect(lower.match(/^authorization:/gm)).toHaveLength(1)
    expect(lower.match(/^x-api-key:/gm)).toHaveLength(1)
    expect(lower.match(/^cookie:/gm)).toHaveLength(1)
    expect(text).not.toContain('other=kept')
    expect(text!.split('\n')[0]).toContain('keep=1&API_KEY=mine&api_key=')
  })

  it('Connection naming Content-Length or Transfer-Encoding does not desync the body', async () => {
    const minted = await grantedToken(scene)
    const before = scene.granted.hits.length
    const body = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n'
    for (const connection of ['Content-Length', 'Transfer-Encoding', 'content-length, close']) {
      const reply = await rawRequest(proxy(kind).port, {
        method: 'POST',
        target: target(kind, '/echo'),
        headers: withToken(minted.token, ['Connection', connection], ['Content-Type', 'text/plain']),
        body,
      })
      expect(reply.status, connection).toBe(200)
    }
    const hits = scene.granted.hits.slice(before)
    expect(hits).toHaveLength(3)
    for (const hit of hits) expect(hit.body.toString()).toBe(body)
    expect(scene.granted.hits.every((hit) => !hit.url.includes('smuggled'))).toBe(true)
    hitsSince(before, minted)
  })

  it('doubled and conflicting token headers are refused, never guessed', async () => {
    const a = await grantedToken(scene)
    const b = await grantedToken(scene)
    const before = scene.granted.hits.length
    const refused: [string, [string, string][]][] = [
      [
        'X-Keyhole-Token twice, same token',
        [
          ['X-Keyhole-Token', a.token],
          ['X-Keyhole-Token', a.token],
        ],
      ],
      [
        'X-Keyhole-Token twice, two tokens',
        [
          ['X-Keyhole-Token', a.token],
          ['X-Keyhole-Token', b.token],
        ],
      ],
      [
        'X-Keyhole-Token A and Bearer B',
        [
          ['X-Keyhole-Token', a.token],
          ['Authorization', `Bearer ${b.token}`],
        ],
      ],
      [
        'Bearer A and Bearer B',
        [
          ['Authorization', `Bearer ${a.token}`],
          ['Authorization', `Bearer ${b.token}`],
        ],
      ],
      [
        'Bearer A twice',
        [
          ['Authorization', `Bearer ${a.token}`],
          ['Authorization', `Bearer ${a.token}`],
        ],
      ],
      [
        'X-Keyhole-Token A and x-api-key B',
        [
          ['X-Keyhole-Token', a.token],
          ['x-api-key', b.token],
        ],
      ],
      ['comma-joined A,B', [['X-Keyhole-Token', `${a.token},${b.token}`]]],
      ['space-joined', [['X-Keyhole-Token', `${a.token} ${b.token}`]]],
      ['Bearer with nothing', [['Authorization', 'Bearer ']]],
    ]
    for (const [label, headers] of refused) {
      const reply = await rawRequest(proxy(kind).port, {
        target: target(kind, '/x'),
        headers: [['Host', 'x'], ...headers],
      })
      expect(reply.status, `${label}: ${reply.raw.slice(0, 200)}`).toBe(401)
      expect(['invalid_token', 'missing_token']).toContain(reply.code)
    }
    expect(scene.granted.hits.length).toBe(before)
    // The same token in two different places is one token.
    const same = await rawRequest(proxy(kind).port, {
      target: target(kind, '/x'),
      headers: [
        ['Host', 'x'],
        ['X-Keyhole-Token', a.token],
        ['Authorization', `Bearer ${a.token}`],
      ],
    })
    expect(same.status).toBe(200)
    hitsSince(before, a)
  })

  it('request-smuggling shapes: CL+TE, obs-fold, double Content-Length, bad Transfer-Encoding', async () => {
    const minted = await grantedToken(scene)
    const port = proxy(kind).port
    const before = scene.granted.hits.length
    const path = target(kind, '/echo')
    const smuggled = `GET ${target(kind, '/smuggled')} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token}\r\n\r\n`
    const shapes: [string, string][] = [
      [
        'Content-Length and Transfer-Encoding',
        `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      ],
      [
        'Transfer-Encoding with obs-fold',
        `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token}\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
      ],
      [
        'token header with obs-fold',
        `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token.slice(0, 20)}\r\n ${minted.token.slice(20)}\r\n\r\n`,
      ],
      [
        'two different Content-Lengths',
        `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token}\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      ],
      [
        'Transfer-Encoding: chunked, identity',
        `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled}`,
      ],
      [
        'Transfer-Encoding: xchunked',
        `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggled}`,
      ],
      [
        'space before the colon',
        `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token}\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
      ],
      [
        'bare LF line endings',
        `POST ${path} HTTP/1.1\nHost: x\nX-Keyhole-Token: ${minted.token}\nContent-Length: 0\nTransfer-Encoding: chunked\n\n0\n\n${smuggled}`,
      ],
    ]
    for (const [label, raw] of shapes) {
      const answer = await rawExchange(port, raw)
      // Node's parser refuses every one of these shapes outright: one 400, nothing processed.
      expect(statuses(answer), `${label}: ${answer.slice(0, 120)}`).toEqual([400])
    }
    // Whatever was accepted, no request line the sandbox hid in a body ever reached the upstream.
    expect(scene.granted.hits.slice(before).filter((hit) => hit.url.includes('smuggled'))).toEqual([])
    hitsSince(before, minted)
  }, 30_000)

  it('a body that is an HTTP request, and pipelined requests with two tokens, stay two separate requests', async () => {
    const a = await grantedToken(scene)
    const b = await grantedToken(scene)
    const before = scene.granted.hits.length
    const hidden = `GET ${target(kind, '/smuggled')} HTTP/1.1\r\nHost: x\r\n\r\n`
    const first = `POST ${target(kind, '/first')} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${a.token}\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`
    const second = `GET ${target(kind, '/second')} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${b.token}\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`
    const third = `GET ${target(kind, '/third')} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${a.token}\r\nConnection: close\r\n\r\n`
    const answer = await rawExchange(proxy(kind).port, first + second + third)
    expect(statuses(answer)).toEqual([200, 200, 200])
    // The proxy may forward pipelined requests concurrently: match them by target, not by order.
    const hits = scene.granted.hits
      .slice(before)
      .sort(
        (x, y) =>
          ['/first', '/second', '/third'].indexOf(x.url) - ['/first', '/second', '/third'].indexOf(y.url),
      )
    expect(hits.map((h) => h.url)).toEqual(['/first', '/second', '/third'])
    expect(hits[0]!.body.toString()).toBe(hidden)
    expect(hits[1]!.body.length).toBe(0) // a GET's body is not forwarded
    const texts = hits.map(hitText)
    for (const value of a.values) {
      expect(texts[0]).toContain(value)
      expect(texts[1]).not.toContain(value)
      expect(texts[2]).toContain(value)
    }
    for (const value of b.values) {
      expect(texts[1]).toContain(value)
      expect(texts[0]).not.toContain(value)
      expect(texts[2]).not.toContain(value)
    }
  })

  it('trailers cannot add a token or an Authorization header', async () => {
    const minted = await grantedToken(scene)
    const before = scene.granted.hits.length
    const raw =
      `POST ${target(kind, '/echo')} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token}\r\nTransfer-Encoding: chunked\r\nTrailer: Authorization\r\nConnection: close\r\n\r\n` +
      `5;ext=1\r\nhello\r\n0\r\nAuthorization: Bearer attacker\r\nX-Keyhole-Token: attacker\r\n\r\n`
    const codes = statuses(await rawExchange(proxy(kind).port, raw))
    expect(codes).toEqual([200])
    const [hit] = scene.granted.hits.slice(before)
    expect(hit!.body.toString()).toBe('hello')
    hitsSince(before, minted)
  })

  it('oversized headers are refused by the server (431) before keyhole; nothing reaches the upstream', async () => {
    const minted = await grantedToken(scene)
    const before = scene.granted.hits.length
    const many = Array.from({ length: 400 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(60)}\r\n`).join('')
    const shapes = [
      `GET ${target(kind, '/x')} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token}\r\nX-Big: ${'b'.repeat(70_000)}\r\nConnection: close\r\n\r\n`,
      `GET ${target(kind, '/x')} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token}\r\n${many}Connection: close\r\n\r\n`,
      `GET ${target(kind, `/${'x'.repeat(70_000)}`)} HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token}\r\nConnection: close\r\n\r\n`,
    ]
    for (const raw of shapes) {
      const codes = statuses(await rawExchange(proxy(kind).port, raw))
      expect(codes.length).toBe(1)
      expect([400, 414, 431]).toContain(codes[0])
    }
    expect(scene.granted.hits.length).toBe(before)
  })

  it('methods: TRACE, CONNECT-like and garbage methods never reach the upstream with the credential', async () => {
    const minted = await grantedToken(scene)
    const before = scene.granted.hits.length
    for (const method of ['TRACE', 'TRACK', 'CONNECT', 'get', 'G%45T', 'PROPFIND']) {
      const reply: RawReply = await rawRequest(proxy(kind).port, {
        method,
        target: target(kind, '/x'),
        headers: withToken(minted.token),
      })
      expect(reply.status, method).toBeLessThan(500)
    }
    for (const hit of scene.granted.hits.slice(before)) expect(['GET', 'PROPFIND']).toContain(hit.method)
    hitsSince(before, minted)
  })
})

describe('redirects with the fetch forwarder (core and Hono defaults) are not followed either', () => {
  let granted: Recorder
  let decoy: Recorder
  let proxies: RunningProxy[]
  let minted: Minted

  beforeAll(async () => {
    const keys = await makeKeys()
    granted = await startRecorder({ name: 'granted' })
    decoy = await startRecorder({ name: 'decoy', host: '127.0.0.2', port: granted.port })
    granted.route('/redirect', (req, res) => {
      const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '/'
      res.writeHead(307, { location: to }).end()
      return true
    })
    minted = await mintFor(keys.key, { hosts: [granted.origin, `http://127.0.0.2:${granted.port}`] })
    const opener = createOpener({ keyring: keys.keyring, issuers: testIssuers })
    proxies = [await startProxy('core', { opener }), await startProxy('hono', { opener })]
  })
  afterAll(async () => {
    for (const p of proxies) await p.close()
    await granted.close()
    await decoy.close()
  })

  it('a 307 towards another host the token even allows is handed back, not followed', async () => {
    for (const p of proxies) {
      const reply = await rawRequest(p.port, {
        method: 'POST',
        target: `${p.prefix}/http/127.0.0.1:${granted.port}/redirect?to=${encodeURIComponent(`http://127.0.0.2:${granted.port}/x`)}`,
        headers: [
          ['Host', 'x'],
          ['X-Keyhole-Token', minted.token],
        ],
        body: 'payload',
      })
      expect(reply.status).toBe(307)
    }
    expect(granted.hits).toHaveLength(2)
    expect(decoy.hits).toEqual([])
  })
})
