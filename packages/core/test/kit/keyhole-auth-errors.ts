// What every adapter's keyholeAuth must answer when the user's handler lets a KeyholeError from
// prepare() or scrub() through. Imported by path (not from the kit's index): it needs vitest.
import { expect } from 'vitest'
import type { Upstream } from './upstream.js'

/** The body credential of {@link bodyGrant}: never in an error response. */
export const BODY_SECRET = 'body-secret-0123456789'

/** A grant whose `body` credential makes prepare() throw `bad_request` on a request without a body. */
export const bodyGrant = (origin: string) => ({
  hosts: [origin],
  inject: [{ type: 'body' as const, field: '/key', value: BODY_SECRET }],
  ttl: '5m',
})

/**
 * Drives a server at `base` that mounts keyholeAuth with the README's handler at `/gw` and a
 * handler scrubbing a response in an unknown encoding at `/scrub`: the first answers 400
 * `bad_request` for a GET without a body (nothing reaches the upstream) and 200 with a JSON body,
 * the second 502 `response_not_scrubbable`, each the engine's JSON error. Returns the 400's
 * headers for the adapter's own checks.
 *
 * @example
 * ```ts
 * const headers = await expectKeyholeAuthErrors(base, { bodyToken, token, upstream })
 * ```
 */
export async function expectKeyholeAuthErrors(
  base: string,
  { bodyToken, token, upstream }: { bodyToken: string; token: string; upstream: Upstream },
): Promise<Headers> {
  const received = upstream.received.length

  // A body credential and a GET without a body: prepare() throws bad_request.
  const noBody = await fetch(`${base}/gw/items`, { headers: { 'x-keyhole-token': bodyToken } })
  expect(noBody.status).toBe(400)
  expect(noBody.headers.get('x-keyhole-error')).toBe('bad_request')
  expect(noBody.headers.get('content-type')).toBe('application/json; charset=utf-8')
  expect(noBody.headers.get('cache-control')).toBe('no-store')
  const text = await noBody.text()
  expect(JSON.parse(text)).toEqual({ error: { code: 'bad_request', message: expect.any(String) } })
  expect(text).not.toContain(BODY_SECRET)
  expect(text).not.toContain(bodyToken)
  expect(upstream.received.length).toBe(received)

  // With a JSON body it goes through.
  const withBody = await fetch(`${base}/gw/items`, {
    method: 'POST',
    body: '{}',
    headers: { 'x-keyhole-token': bodyToken, 'content-type': 'application/json' },
  })
  expect(withBody.status).toBe(200)

  const unscrubbable = await fetch(`${base}/scrub/x`, { headers: { 'x-keyhole-token': token } })
  expect(unscrubbable.status).toBe(502)
  expect(unscrubbable.headers.get('x-keyhole-error')).toBe('response_not_scrubbable')
  expect(await unscrubbable.json()).toEqual({
    error: { code: 'response_not_scrubbable', message: expect.any(String) },
  })
  return noBody.headers
}
