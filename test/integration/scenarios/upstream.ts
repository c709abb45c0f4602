import { expect, test } from 'vitest'
import { closedPort } from '../../../packages/core/test/kit/index.js'
import { hits, mintToken, type Suite, send, via } from '../harness/fixtures.js'
import { secret } from '../harness/leaks.js'

/** Upstream errors pass through; the proxy's own 502 and 504. */
export function upstreamScenarios(s: Suite): void {
  test('upstream 404, 429 and 500 bodies and headers (each Set-Cookie too) are passed through untouched', async () => {
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-errors') }],
    })
    const cases = [
      {
        status: 404,
        headers: { 'content-type': 'application/json' },
        body: '{"message":"Not Found","code":"nope"}',
      },
      { status: 429, headers: { 'content-type': 'text/plain', 'retry-after': '7' }, body: 'slow down' },
      {
        status: 500,
        headers: { 'content-type': 'application/problem+json', 'x-request-id': 'req-1' },
        body: '{"type":"about:blank","title":"boom"}',
      },
    ]
    for (const c of cases) {
      s.up.route(`/status/${c.status}`, (_req, res) => {
        res.writeHead(c.status, { ...c.headers, 'set-cookie': ['a=1; Path=/', 'b=2; HttpOnly'] })
        res.end(c.body)
      })
      const response = await send(via(s.app, s.up, `/status/${c.status}`), {
        headers: { 'x-keyhole-token': token },
      })
      expect(response.status).toBe(c.status)
      expect(response.text()).toBe(c.body)
      expect(response.headers['x-keyhole-error']).toBeUndefined()
      for (const [name, value] of Object.entries(c.headers)) expect(response.headers[name]).toBe(value)
      expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly'])
    }
  })

  test('upstream down: 502 upstream_unreachable', async () => {
    const port = await closedPort()
    const token = await mintToken(s.keys.keyring, {
      hosts: [`http://127.0.0.1:${port}`],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-down') }],
    })
    const response = await send(`${s.app.origin}/proxy/http/127.0.0.1:${port}/down`, {
      headers: { 'x-keyhole-token': token },
    })
    expect(response.status).toBe(502)
    expect(response.headers['x-keyhole-error']).toBe('upstream_unreachable')
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    expect(response.json().error.code).toBe('upstream_unreachable')
  })

  test('upstream hanging: 504 upstream_timeout after the configured timeout', async () => {
    const app = await s.start({ proxy: { timeout: '300ms' } })
    s.up.route('/hang', () => {
      // Never answers.
    })
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: secret('Bearer sk-live-hang') }],
    })
    const aborted = s.up.nextAbort()
    const response = await send(via(app, s.up, '/hang'), { headers: { 'x-keyhole-token': token } })
    expect(response.status).toBe(504)
    expect(response.headers['x-keyhole-error']).toBe('upstream_timeout')
    // The proxy gave up on the upstream request as well.
    expect((await aborted).url).toBe('/hang')
    expect(hits(s.up, '/hang')).toHaveLength(1)
  })
}
