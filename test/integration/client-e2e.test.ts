// @keyhole/client end to end: createFetch through a real proxy on each adapter reaches the
// upstream with the real credential, and the sandbox side never handles anything but the token.
import { createFetch, KeyholeClientError } from '@keyhole/client'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { reflectAnswer, startUpstream, type Upstream } from '../../packages/core/test/kit/index.js'
import { adapters, type ProxyApp } from './harness/adapters.js'
import { createKeys, hits, type Keys, mintToken } from './harness/fixtures.js'

describe.each(adapters)('createFetch through the $name adapter', (adapter) => {
  let keys: Keys
  let up: Upstream
  let other: Upstream
  let app: ProxyApp
  beforeAll(async () => {
    keys = await createKeys()
    up = await startUpstream({ answer: reflectAnswer })
    other = await startUpstream({ answer: reflectAnswer })
    app = await adapter.start({ opener: keys.opener })
  })
  afterAll(async () => {
    await app.close()
    await Promise.all([up.close(), other.close()])
    keys.revocations.close()
  })

  test('a call reaches the upstream with the credential; the token does not', async () => {
    const credential = `Bearer sk-live-client-e2e-${crypto.randomUUID()}`
    const token = await mintToken(keys.keyring, {
      hosts: [up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: credential }],
    })
    const fetch = createFetch({ proxy: `${app.origin}/proxy`, tokens: [token] })

    const response = await fetch(`${up.origin}/client/e2e/a%2Fb?q=1&r=x%20y`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer placeholder' },
      body: JSON.stringify({ hello: 'world' }),
    })
    expect(response.status).toBe(200)
    const echo = await response.json()
    expect(echo.url).toBe('/client/e2e/a%2Fb?q=1&r=x%20y')

    const [request] = hits(up, '/client/e2e/')
    expect(request!.method).toBe('POST')
    expect(request!.headers.authorization).toBe(credential)
    expect(request!.body.toString()).toBe('{"hello":"world"}')
    expect(JSON.stringify(request!.rawHeaders)).not.toContain(token)
  })

  test('a URL no token matches is refused before anything is sent', async () => {
    const token = await mintToken(keys.keyring, {
      hosts: [up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: 'Bearer sk-live-client-unmatched' }],
    })
    const fetch = createFetch({ proxy: `${app.origin}/proxy`, tokens: [token] })
    const error = await fetch(`${other.origin}/client/elsewhere`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KeyholeClientError)
    expect((error as KeyholeClientError).code).toBe('no_token_for_host')
    expect(other.received).toHaveLength(0)
  })
})
