import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createOpener } from '@keyhole/core'
import express from 'express'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createFetch, generateProofKey } from '../../client/src/index.js'
import {
  cannedRoutes,
  makeKeys,
  mintToken,
  startUpstream,
  testIssuers,
  type Upstream,
} from '../../core/test/kit/index.js'
import { keyhole } from '../src/index.js'

// The audit's leak, end to end over real sockets: an API the token names answers 302 to a host
// it does not name. The proxy hands the 302 back untouched; the client, on Node's own fetch, must
// not carry X-Keyhole-Token (or a proof) there itself.

let api: Upstream
let elsewhere: Upstream
let server: Server
let proxyUrl: string
let token: string
let bound: string
const holder = await generateProofKey()
const middleware: Array<{ close(): void }> = []

beforeAll(async () => {
  api = await startUpstream({ name: 'api', routes: cannedRoutes })
  elsewhere = await startUpstream({ name: 'elsewhere' })
  const { keyring } = await makeKeys()
  const grant = {
    hosts: [api.origin],
    inject: [{ in: 'header' as const, name: 'Authorization', value: 'Bearer api-secret' }],
    ttl: '5m',
  }
  token = await mintToken(keyring, grant)
  bound = await mintToken(keyring, { ...grant, bindKey: holder.publicJwk })
  const proxy = keyhole({ opener: createOpener({ keyring, issuers: testIssuers }) })
  middleware.push(proxy)
  const app = express()
  app.use('/proxy', proxy)
  server = app.listen(0, '127.0.0.1')
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
  proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/proxy`
})

afterAll(async () => {
  for (const m of middleware) m.close()
  server.closeAllConnections()
  server.close()
  await Promise.all([api.close(), elsewhere.close()])
})

describe('createFetch and an upstream redirect, over real sockets', () => {
  test('a redirect to a host no token names is not followed with the token, bound or not', async () => {
    const away = `${elsewhere.origin}/steal`
    for (const [tokens, proofKey] of [
      [[token], undefined],
      [[bound], holder],
    ] as const) {
      const fetch = createFetch({ proxy: proxyUrl, tokens: [...tokens], ...(proofKey && { proofKey }) })
      await expect(fetch(`${api.origin}/redirect?to=${encodeURIComponent(away)}`)).rejects.toMatchObject({
        code: 'no_token_for_host',
      })
      const direct = createFetch({
        proxy: proxyUrl,
        tokens: [...tokens],
        passthrough: true,
        ...(proofKey && { proofKey }),
      })
      const followed = await direct(`${api.origin}/redirect?to=${encodeURIComponent(away)}`)
      expect(followed.status).toBe(200)
      await followed.text()
    }
    // The other host was reached only by the passthrough calls, and never with a token or proof.
    expect(elsewhere.received).toHaveLength(2)
    for (const record of elsewhere.received) {
      expect(record.headers['x-keyhole-token']).toBeUndefined()
      expect(record.headers['keyhole-proof']).toBeUndefined()
      expect(JSON.stringify(record.headers)).not.toContain(token.slice(0, 40))
      expect(JSON.stringify(record.headers)).not.toContain(bound.slice(0, 40))
    }
  })

  test('a redirect within the API is followed through the proxy with a fresh proof', async () => {
    const fetch = createFetch({ proxy: proxyUrl, tokens: [bound], proofKey: holder })
    const before = api.received.length
    const response = await fetch(`${api.origin}/redirect?to=${encodeURIComponent('/landed?x=1')}`)
    expect(response.status).toBe(200)
    await response.text()
    const hops = api.received.slice(before)
    expect(hops.map((r) => r.url)).toEqual([
      `/redirect?to=${encodeURIComponent('/landed?x=1')}`,
      '/landed?x=1',
    ])
    expect(hops.every((r) => r.headers.authorization === 'Bearer api-secret')).toBe(true)
  })
})
