// The token attacked, through real proxies: core's createProxy on node:http, and the Hono and
// Express adapters. Every broken token gets its precise keyhole error (JSON body, X-Keyhole-Error,
// WWW-Authenticate on 401s) — never a 5xx, never a crash — and the upstream is never contacted.
import { Agent } from 'node:http'
import { createOpener, errorStatus, type KeyholeErrorCode } from '@keyhole/core'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testIssuers } from '../../packages/core/test/kit/issuer.js'
import { type Reply, rawExchange, send, statuses } from './harness/client.js'
import { byteMutations, type Case, craftedCases, encodingVariants } from './harness/corpus.js'
import { PROXY_KINDS, type RunningProxy, startProxy } from './harness/proxies.js'
import { leaks, observedCount } from './harness/secrets.js'
import { type Keys, makeKeys, mintFor } from './harness/tokens.js'
import { type Recorder, startRecorder } from './harness/upstream.js'

// What node's HTTP client can put in a header value at all (anything else never reaches a proxy
// over HTTP; the raw-socket test below sends such bytes anyway).
const SENDABLE = /^[\t\x20-\x7e\x80-\xff]*$/

function assertKeyholeError(reply: Reply, code: string, label: string): void {
  const context = `${label}: ${reply.status} ${reply.code} ${reply.body.slice(0, 120)}`
  expect(reply.status, context).toBe(errorStatus[code as KeyholeErrorCode])
  expect(reply.code, context).toBe(code)
  expect(JSON.parse(reply.body), context).toEqual({ error: { code, message: expect.any(String) } })
  if (reply.status === 401) {
    // No token at all gets the bare challenge (RFC 6750 §3.1); every token failure says invalid_token.
    const challenge = code === 'missing_token' ? 'Bearer' : 'Bearer error="invalid_token"'
    expect(reply.headers['www-authenticate'], context).toBe(challenge)
  }
}

describe.each(PROXY_KINDS)('through the %s proxy', (kind) => {
  let upstream: Recorder
  let proxy: RunningProxy
  let keys: Keys
  let valid: string
  let target: string
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  let okReplies = 0

  beforeAll(async () => {
    upstream = await startRecorder({ name: 'granted' })
    keys = await makeKeys()
    valid = (await mintFor(keys.key, { hosts: [upstream.origin] })).token
    proxy = await startProxy(kind, {
      opener: createOpener({ keyring: keys.keyring, issuers: testIssuers, cacheSize: 0 }),
      tokenHeaders: ['x-api-key'],
    })
    target = `${proxy.base}/http/127.0.0.1:${upstream.port}/resource`
  })

  afterAll(async () => {
    agent.destroy()
    await proxy.close()
    await upstream.close()
  })

  async function run(
    cases: readonly Case[],
    header = 'x-keyhole-token',
  ): Promise<{ sent: number; skipped: number }> {
    let sent = 0
    let skipped = 0
    for (const c of cases) {
      if (!SENDABLE.test(c.token) || c.token.length > 12_000) {
        skipped++
        continue
      }
      const value = header === 'authorization' ? `Bearer ${c.token}` : c.token
      const reply = await send(target, { headers: [[header, value]], agent })
      sent++
      expect(reply.status, c.label).toBeLessThan(500)
      if (reply.code === undefined) {
        // Only a token that may open is allowed through to the upstream.
        expect(c.expect, `${c.label} reached the upstream`).toContain('ok')
        expect(reply.status).toBe(200)
        okReplies++
      } else {
        const allowed = c.expect.filter((e) => e !== 'ok')
        expect(allowed, `${c.label}: got ${reply.code}`).toContain(reply.code)
        assertKeyholeError(reply, reply.code, c.label)
      }
    }
    return { sent, skipped }
  }

  it('control: the valid token passes and the upstream sees its credential only', async () => {
    const reply = await send(target, { headers: [['x-keyhole-token', valid]], agent })
    expect(reply.status).toBe(200)
    expect(upstream.hits).toHaveLength(1)
    okReplies++
  })

  it('every single-character edit (every 3rd position, all segments), in X-Keyhole-Token', async () => {
    const { sent } = await run(byteMutations(valid, 3))
    expect(sent).toBeGreaterThan(valid.length)
    expect(upstream.hits).toHaveLength(okReplies)
  }, 180_000)

  it('every single-character edit of the header segment, in Authorization: Bearer', async () => {
    const headerLength = valid.indexOf('.')
    const cases = byteMutations(valid).filter((c) => /segment 0 /.test(c.label))
    expect(cases.length).toBeGreaterThan(headerLength * 3)
    await run(cases, 'authorization')
    expect(upstream.hits).toHaveLength(okReplies)
  }, 180_000)

  it('base64 and serialization variants, in X-Keyhole-Token and in a tokenHeaders header', async () => {
    const cases = encodingVariants(valid)
    const first = await run(cases)
    const second = await run(cases, 'x-api-key')
    expect(first.sent).toBeGreaterThan(20)
    expect(second.sent).toBe(first.sent)
    expect(upstream.hits).toHaveLength(okReplies)
  }, 60_000)

  it('header edits, foreign keys, swapped segments, nested and duplicate JSON, prototype names', async () => {
    const cases = await craftedCases(keys.key, keys.foreign, [upstream.origin])
    const { sent } = await run(cases)
    expect(sent).toBeGreaterThan(100)
    expect(upstream.hits).toHaveLength(okReplies)
    // Whatever opened went to the granted target and nowhere else.
    for (const hit of upstream.hits) expect(hit.url).toBe('/resource')
  }, 60_000)

  it('fast-check: any header value is refused with a 401 and never reaches the upstream', async () => {
    const before = upstream.hits.length
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('x-keyhole-token', 'authorization', 'x-api-key'),
        fc
          .string({ minLength: 1, maxLength: 400 })
          .filter((s) => SENDABLE.test(s) && s.trim() === s && s !== ''),
        async (header, value) => {
          const sent = header === 'authorization' ? `Bearer ${value}` : value
          const reply = await send(target, { headers: [[header, sent]], agent })
          expect(['invalid_token', 'missing_token']).toContain(reply.code)
          assertKeyholeError(reply, reply.code!, `${header}: ${JSON.stringify(value)}`)
        },
      ),
      { numRuns: 300 },
    )
    expect(upstream.hits.length).toBe(before)
  }, 120_000)

  it('bytes no HTTP client would send (NUL, CR, bare LF, UTF-8) in the token header, over a raw socket', async () => {
    const before = upstream.hits.length
    const path = `${proxy.prefix}/http/127.0.0.1:${upstream.port}/resource`
    const bad = [
      `${valid.slice(0, 10)}\u0000${valid.slice(10)}`,
      `${valid.slice(0, 10)}\r${valid.slice(10)}`,
      `${valid.slice(0, 10)}\n${valid.slice(10)}`,
      `${valid.slice(0, 10)}\u00e9${valid.slice(10)}`,
      `${valid.slice(0, 10)}\u2028${valid.slice(10)}`,
    ]
    for (const value of bad) {
      const raw = Buffer.concat([
        Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Keyhole-Token: `),
        Buffer.from(value, 'utf8'),
        Buffer.from('\r\nConnection: close\r\n\r\n'),
      ])
      const answer = await rawExchange(proxy.port, raw)
      const codes = statuses(answer)
      expect(codes.length, JSON.stringify(value)).toBeGreaterThan(0)
      for (const status of codes) expect([400, 401]).toContain(status)
    }
    expect(upstream.hits.length).toBe(before)
  })

  it('a token header far over the server limit is refused before keyhole (431) or as invalid_token', async () => {
    const before = upstream.hits.length
    for (const size of [9_000, 15_000, 70_000]) {
      const raw = `GET ${proxy.prefix}/http/127.0.0.1:${upstream.port}/resource HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Keyhole-Token: ${'A'.repeat(size)}\r\nConnection: close\r\n\r\n`
      const codes = statuses(await rawExchange(proxy.port, raw))
      expect(codes.length).toBe(1)
      expect([401, 431]).toContain(codes[0])
    }
    expect(upstream.hits.length).toBe(before)
  })

  it('the proxy stayed healthy: the valid token still works afterwards', async () => {
    const reply = await send(target, { headers: [['x-keyhole-token', valid]], agent })
    expect(reply.status).toBe(200)
    // The engine emitted one event per request it handled, none of them a 5xx.
    expect(proxy.events.length).toBeGreaterThan(1000)
    expect(proxy.events.filter((e) => e.status >= 500)).toEqual([])
  })
})

afterAll(() => {
  expect(observedCount().texts).toBeGreaterThan(100)
  expect(leaks()).toEqual([])
})
