// The request attacked, host side: every way a sandbox could name the target so that the
// credential lands somewhere other than the granted host. Decoys listen wherever a trick could
// lead (127.0.0.2 on the granted port — where every other name resolves —, another port on
// 127.0.0.1, [::1]); each test ends with: no decoy saw any request, and whatever reached the
// granted upstream carried only its own token's credential.

import { createOpener } from '@keyhole/core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { testIssuers } from '../../packages/core/test/kit/issuer.js'
import { type RawReply, rawRequest } from './harness/client.js'
import { PROXY_KINDS, type RunningProxy, startProxy } from './harness/proxies.js'
import { GRANTED_NAME, grantedToken, type Scene, startScene } from './harness/scene.js'
import { leaks } from './harness/secrets.js'
import { makeKeys, mintFor } from './harness/tokens.js'
import { type Recorder, startRecorder } from './harness/upstream.js'

type Expect = 'granted' | 'refused'

function outcomeOf(reply: RawReply): Expect | string {
  if (reply.status === 200 && reply.body.includes('"upstream":"granted"')) return 'granted'
  if (reply.status >= 400 && reply.status < 500) return 'refused'
  return `unexpected ${reply.status} ${reply.code ?? ''} ${reply.body.slice(0, 80)}`
}

function checkHits(recorders: Recorder[], granted: Recorder, values: string[], before: number): void {
  for (const decoy of recorders) expect(decoy.texts(), `${decoy.name} was reached`).toEqual([])
  for (const hit of granted.hits.slice(before)) {
    const text = `${hit.url}\n${hit.rawHeaders.join('\n')}`
    for (const value of values) expect(text).toContain(value)
  }
}

describe('open mode, named host: the grant is http://api.example.test:PORT', () => {
  let scene: Scene
  let token: string
  let values: string[]
  let P: number
  let Q: number

  beforeAll(async () => {
    scene = await startScene()
    ;({ token, values } = await grantedToken(scene))
    P = scene.granted.port
    Q = scene.otherPort.port
  })
  afterAll(() => scene.close())

  // [label, host segment of /{scheme}/{host}/..., scheme segment, expectation]
  const tricks = (): [string, string, string, Expect][] => [
    ['control', `${GRANTED_NAME}:${P}`, 'http', 'granted'],
    ['another host', `evil.test:${P}`, 'http', 'refused'],
    ['another port', `${GRANTED_NAME}:${Q}`, 'http', 'refused'],
    ['no port (80)', GRANTED_NAME, 'http', 'refused'],
    ['https instead of http', `${GRANTED_NAME}:${P}`, 'https', 'refused'],
    ['upper-case scheme', `${GRANTED_NAME}:${P}`, 'HTTP', 'granted'],
    ['ftp scheme', `${GRANTED_NAME}:${P}`, 'ftp', 'refused'],
    ['userinfo before the granted host', `evil.test@${GRANTED_NAME}:${P}`, 'http', 'refused'],
    ['userinfo before a decoy', `${GRANTED_NAME}@evil.test:${P}`, 'http', 'refused'],
    ['userinfo with the port', `${GRANTED_NAME}:${P}@evil.test:${P}`, 'http', 'refused'],
    ['empty userinfo', `@${GRANTED_NAME}:${P}`, 'http', 'refused'],
    ['backslash then decoy', `${GRANTED_NAME}\\@evil.test:${P}`, 'http', 'refused'],
    ['decoy then backslash', `evil.test\\${GRANTED_NAME}:${P}`, 'http', 'refused'],
    ['encoded backslash', `evil.test%5c${GRANTED_NAME}:${P}`, 'http', 'refused'],
    ['%2e for the dots', `api%2eexample%2etest:${P}`, 'http', 'refused'],
    ['%2e trailing', `${GRANTED_NAME}%2e:${P}`, 'http', 'refused'],
    ['encoded slash', `evil.test%2f${GRANTED_NAME}:${P}`, 'http', 'refused'],
    ['encoded @', `${GRANTED_NAME}%40evil.test:${P}`, 'http', 'refused'],
    ['ideographic full stop U+3002', `api\u3002example\u3002test:${P}`, 'http', 'refused'],
    ['fullwidth full stop U+FF0E', `api\uff0eexample\uff0etest:${P}`, 'http', 'refused'],
    ['halfwidth ideographic full stop U+FF61', `api\uff61example\uff61test:${P}`, 'http', 'refused'],
    ['percent-encoded U+3002', `api%E3%80%82example%E3%80%82test:${P}`, 'http', 'refused'],
    ['Cyrillic a (homograph)', `\u0430pi.example.test:${P}`, 'http', 'refused'],
    ['Cyrillic e (homograph)', `api.\u0435xample.test:${P}`, 'http', 'refused'],
    ['punycode of a homograph', `xn--pi-7kc.example.test:${P}`, 'http', 'refused'],
    ['fullwidth letters', `\uff41\uff50\uff49.example.test:${P}`, 'http', 'refused'],
    ['IPv6 zone id', `[fe80::1%25eth0]:${P}`, 'http', 'refused'],
    ['IPv6 zone id, raw %', `[fe80::1%eth0]:${P}`, 'http', 'refused'],
    ['IPv6 loopback', `[::1]:${P}`, 'http', 'refused'],
    ['decimal IPv4 of 127.0.0.2', `2130706434:${P}`, 'http', 'refused'],
    ['hex IPv4 of 127.0.0.2', `0x7f000002:${P}`, 'http', 'refused'],
    ['octal IPv4 of 127.0.0.2', `0177.0.0.02:${P}`, 'http', 'refused'],
    ['short IPv4 127.2', `127.2:${P}`, 'http', 'refused'],
    ['trailing dot', `${GRANTED_NAME}.:${P}`, 'http', 'granted'],
    ['two trailing dots', `${GRANTED_NAME}..:${P}`, 'http', 'refused'],
    ['leading dot', `.${GRANTED_NAME}:${P}`, 'http', 'refused'],
    ['upper case', `API.EXAMPLE.TEST:${P}`, 'http', 'granted'],
    ['mixed case', `Api.Example.Test:${P}`, 'http', 'granted'],
    ['granted name as a subdomain of a decoy', `${GRANTED_NAME}.evil.test:${P}`, 'http', 'refused'],
    ['decoy as a subdomain of the granted name', `evil.${GRANTED_NAME}:${P}`, 'http', 'refused'],
    ['encoded NUL', `${GRANTED_NAME}%00.evil.test:${P}`, 'http', 'refused'],
    ['raw NUL', `${GRANTED_NAME}\u0000.evil.test:${P}`, 'http', 'refused'],
    ['tab', `${GRANTED_NAME}\t:${P}`, 'http', 'refused'],
    ['two ports', `${GRANTED_NAME}:${P}:${Q}`, 'http', 'refused'],
    ['port with a leading zero', `${GRANTED_NAME}:0${P}`, 'http', 'refused'],
    ['port 0', `${GRANTED_NAME}:0`, 'http', 'refused'],
    ['port out of range', `${GRANTED_NAME}:${P + 65536}`, 'http', 'refused'],
    ['empty host', `:${P}`, 'http', 'refused'],
    // What follows '#' or '?' is a fragment (dropped) or the query: the host is still the granted one.
    ['fragment then decoy', `${GRANTED_NAME}:${P}#@evil.test:${P}`, 'http', 'granted'],
    ['query then decoy', `${GRANTED_NAME}:${P}?@evil.test:${P}`, 'http', 'granted'],
    ['semicolon', `${GRANTED_NAME};evil.test:${P}`, 'http', 'refused'],
    ['comma', `${GRANTED_NAME},evil.test:${P}`, 'http', 'refused'],
    ['underscore look-alike', `api_example.test:${P}`, 'http', 'refused'],
    ['very long host', `${'a'.repeat(300)}.test:${P}`, 'http', 'refused'],
  ]

  for (const kind of PROXY_KINDS) {
    it(`${kind}: host tricks reach the granted upstream or nothing`, async () => {
      const proxy = scene.proxies.get(kind)!
      const before = scene.granted.hits.length
      const wrong: string[] = []
      let granted = 0
      for (const [label, host, scheme, expected] of tricks()) {
        const reply = await rawRequest(proxy.port, {
          target: `${proxy.prefix}/${scheme}/${host}/v1/x`,
          headers: [
            ['Host', `127.0.0.1:${proxy.port}`],
            ['X-Keyhole-Token', token],
          ],
        })
        const got = outcomeOf(reply)
        if (got === 'granted') granted++
        if (got !== expected)
          wrong.push(`${label} (${JSON.stringify(host)}): expected ${expected}, got ${got}`)
      }
      expect(wrong).toEqual([])
      expect(scene.granted.hits.length - before).toBe(granted)
      checkHits(scene.decoys, scene.granted, values, before)
      // The resolver was only ever asked for the granted name.
      expect(new Set(scene.lookups)).toEqual(new Set([GRANTED_NAME]))
    }, 60_000)
  }

  it('a wildcard grant never covers the bare domain, a look-alike or a suffix trick', async () => {
    const wildcard = await mintFor(scene.keys.key, { hosts: [`http://*.example.test:${P}`] })
    const before = scene.granted.hits.length
    for (const proxy of scene.proxies.values()) {
      for (const host of [
        `example.test:${P}`,
        `evilexample.test:${P}`,
        `example.test.evil.test:${P}`,
        `api.example.test.evil.test:${P}`,
        `api.example.testx:${P}`,
        `.example.test:${P}`,
        `*.example.test:${P}`,
        `api.example.test:${Q}`,
      ]) {
        const reply = await rawRequest(proxy.port, {
          target: `${proxy.prefix}/http/${host}/x`,
          headers: [
            ['Host', 'x'],
            ['X-Keyhole-Token', wildcard.token],
          ],
        })
        expect(outcomeOf(reply), `${proxy.kind} ${host}`).toBe('refused')
      }
      // Control: a real subdomain (the granted name is one) passes.
      const control = await rawRequest(proxy.port, {
        target: `${proxy.prefix}/http/${GRANTED_NAME}:${P}/x`,
        headers: [
          ['Host', 'x'],
          ['X-Keyhole-Token', wildcard.token],
        ],
      })
      expect(outcomeOf(control)).toBe('granted')
    }
    expect(scene.granted.hits.length).toBe(before + scene.proxies.size)
    checkHits(scene.decoys, scene.granted, wildcard.values, before)
  }, 60_000)
})

describe('open mode, IP literal: the grant is http://127.0.0.1:PORT, default forwarders and address guard', () => {
  let granted: Recorder
  let decoys: Recorder[]
  let proxies: RunningProxy[]
  let token: string
  let values: string[]

  beforeAll(async () => {
    const keys = await makeKeys()
    granted = await startRecorder({ name: 'granted' })
    decoys = [
      await startRecorder({ name: '127.0.0.2', host: '127.0.0.2', port: granted.port }),
      await startRecorder({ name: 'other-port' }),
    ]
    try {
      decoys.push(await startRecorder({ name: '[::1]', host: '::1', port: granted.port }))
    } catch {
      // no IPv6 loopback here
    }
    ;({ token, values } = await mintFor(keys.key, { hosts: [granted.origin] }))
    const opener = createOpener({ keyring: keys.keyring, issuers: testIssuers })
    // core and Hono with the default fetch forwarder, Express with its default node forwarder.
    proxies = []
    for (const kind of PROXY_KINDS) proxies.push(await startProxy(kind, { opener }))
  })
  afterAll(async () => {
    for (const proxy of proxies) await proxy.close()
    for (const recorder of [granted, ...decoys]) await recorder.close()
  })

  it('other spellings of 127.0.0.1 reach it; every other address is refused before anything is dialed', async () => {
    const P = granted.port
    const Q = decoys[1]!.port
    const cases: [string, Expect][] = [
      [`127.0.0.1:${P}`, 'granted'],
      [`2130706433:${P}`, 'granted'],
      [`0x7f000001:${P}`, 'granted'],
      [`0177.0.0.1:${P}`, 'granted'],
      [`127.1:${P}`, 'granted'],
      [`127.0.0.2:${P}`, 'refused'],
      [`2130706434:${P}`, 'refused'],
      [`0x7f000002:${P}`, 'refused'],
      [`0177.0.0.2:${P}`, 'refused'],
      [`127.2:${P}`, 'refused'],
      [`127.0.0.02:${P}`, 'refused'],
      [`[::ffff:127.0.0.2]:${P}`, 'refused'],
      [`[::ffff:7f00:2]:${P}`, 'refused'],
      [`[::ffff:127.0.0.1]:${P}`, 'refused'],
      [`[::1]:${P}`, 'refused'],
      [`[::]:${P}`, 'refused'],
      [`0.0.0.0:${P}`, 'refused'],
      [`0:${P}`, 'refused'],
      [`localhost:${P}`, 'refused'],
      [`localhost.:${P}`, 'refused'],
      [`127.0.0.1.nip.io:${P}`, 'refused'],
      [`127.0.0.1:${Q}`, 'refused'],
      [`169.254.169.254`, 'refused'],
      [`[fe80::1%25lo]:${P}`, 'refused'],
    ]
    const before = granted.hits.length
    let reached = 0
    for (const proxy of proxies) {
      const wrong: string[] = []
      for (const [host, expected] of cases) {
        const reply = await rawRequest(proxy.port, {
          target: `${proxy.prefix}/http/${host}/x`,
          headers: [
            ['Host', 'x'],
            ['X-Keyhole-Token', token],
          ],
        })
        const got = outcomeOf(reply)
        if (got === 'granted') reached++
        if (got !== expected) wrong.push(`${proxy.kind} ${host}: expected ${expected}, got ${got}`)
      }
      expect(wrong).toEqual([])
    }
    expect(granted.hits.length - before).toBe(reached)
    checkHits(decoys, granted, values, before)
  }, 60_000)
})

describe('gateway mode: upstream fixed to http://api.example.test:PORT', () => {
  let scene: Scene
  let token: string
  let values: string[]

  beforeAll(async () => {
    scene = await startScene({ proxy: (grantedHost) => ({ upstream: `${grantedHost}/base` }) })
    ;({ token, values } = await grantedToken(scene))
  })
  afterAll(() => scene.close())

  it('request paths that try to name another host stay on the gateway upstream', async () => {
    const paths = [
      '/x',
      '//evil.test/x',
      '///evil.test/x',
      '/@evil.test/x',
      '/%2f%2fevil.test/x',
      '/\\evil.test/x',
      '/%5cevil.test/x',
      '/../../x',
      '/..%2f..%2fx',
      `/http://evil.test:${scene.granted.port}/x`,
      '/x?url=http://evil.test/',
      '/x#@evil.test',
    ]
    const before = scene.granted.hits.length
    let reached = 0
    for (const proxy of scene.proxies.values()) {
      for (const path of paths) {
        const reply = await rawRequest(proxy.port, {
          target: `${proxy.prefix}${path}`,
          headers: [
            ['Host', 'evil.test'],
            ['X-Keyhole-Token', token],
          ],
        })
        const got = outcomeOf(reply)
        expect(['granted', 'refused'], `${proxy.kind} ${path}: ${got}`).toContain(got)
        if (got === 'granted') reached++
      }
    }
    expect(reached).toBeGreaterThan(0)
    expect(scene.granted.hits.length - before).toBe(reached)
    for (const hit of scene.granted.hits.slice(before)) {
      expect(hit.url.startsWith('/base/') || hit.url === '/base').toBe(true)
      const host = hit.rawHeaders[hit.rawHeaders.findIndex((h) => h.toLowerCase() === 'host') + 1]
      expect(host).toBe(`${GRANTED_NAME}:${scene.granted.port}`)
    }
    checkHits(scene.decoys, scene.granted, values, before)
    expect(new Set(scene.lookups)).toEqual(new Set([GRANTED_NAME]))
  }, 60_000)
})

afterEach(() => {
  expect(leaks()).toEqual([])
})
