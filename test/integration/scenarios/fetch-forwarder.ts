import { createHash, randomBytes } from 'node:crypto'
import { expect, test } from 'vitest'
import { hits, mintToken, type Suite, send, via } from '../harness/fixtures.js'
import { streamRequest } from '../harness/http.js'
import { secret } from '../harness/leaks.js'

/**
 * The Hono adapter with the engine's default forwarder (web fetch), as it runs on Workers,
 * Deno or Bun: the essentials, not the byte-exact cases only the node forwarder promises.
 */
export function fetchForwarderScenarios(s: Suite): void {
  test('injects, strips the token, refuses other hosts, streams bodies both ways', async () => {
    const auth = secret('Bearer sk-live-fetch-forwarder')
    const token = await mintToken(s.keys.keyring, {
      hosts: [s.up.origin],
      inject: [{ in: 'header', name: 'Authorization', value: auth }],
    })
    const ok = await send(via(s.app, s.up, '/ff/a%2Fb?q=1'), { headers: { 'x-keyhole-token': token } })
    expect(ok.status).toBe(200)
    const [request] = hits(s.up, '/ff/')
    expect(request!.url).toBe('/ff/a%2Fb?q=1')
    expect(request!.headers.authorization).toBe(auth)
    expect(JSON.stringify(request!.rawHeaders)).not.toContain(token)

    const outside = await send(via(s.app, s.other, '/ff'), { headers: { 'x-keyhole-token': token } })
    expect(outside.status).toBe(403)
    expect(s.other.received).toHaveLength(0)

    const body = randomBytes(2 * 1024 * 1024)
    const upload = await send(via(s.app, s.up, '/ff-upload'), {
      method: 'POST',
      headers: { 'x-keyhole-token': token, 'content-type': 'application/octet-stream' },
      body,
    })
    expect(upload.status).toBe(200)
    expect(upload.json().bodyHash).toBe(createHash('sha256').update(body).digest('hex'))

    let release!: () => void
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    s.up.route('/ff-sse', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: 1\n\n')
      released.then(() => res.end('data: 2\n\n'))
    })
    const sse = await streamRequest(via(s.app, s.up, '/ff-sse'), { headers: { 'x-keyhole-token': token } })
    const first = await new Promise<string>((resolve) =>
      sse.once('data', (c: Buffer) => resolve(c.toString())),
    )
    expect(first).toBe('data: 1\n\n')
    release()
    await new Promise((resolve) => sse.on('end', resolve).resume())
  })
}
