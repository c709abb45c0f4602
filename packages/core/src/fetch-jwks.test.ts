import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { closedPort, type Route, startUpstream, type Upstream } from '../test/kit/index.js'
import { isKeyholeError, type KeyholeError } from './errors.js'
import { clearJwksCache, fetchJwks } from './fetch-jwks.js'
import { generateKey } from './keys/generate-key.js'
import { createKeyring } from './keys/keyring.js'
import type { PublicJwks } from './types.js'

let upstream: Upstream
let base: string
let jwks: PublicJwks
/** How many requests for `path` the upstream received since the test began. */
const hits = (path: string) => upstream.received.filter((record) => record.path === path).length
const routes: Record<string, Route> = {
  '/jwks.json': (_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(jwks))
  },
  '/slow.json': (_req, res) => {
    setTimeout(() => res.end(JSON.stringify(jwks)), 2000).unref()
  },
  '/500.json': (_req, res) => {
    res.statusCode = 500
    res.end('boom')
  },
  '/html': (_req, res) => res.end('<html>nope</html>'),
  '/nokeys.json': (_req, res) => res.end('{"keys": 1}'),
  '/huge.json': (_req, res) => res.end(`{"keys": [], "pad": "${'x'.repeat(200_000)}"}`),
  '/redirect': (_req, res) => {
    res.statusCode = 302
    res.setHeader('location', '/jwks.json')
    res.end()
  },
}

beforeAll(async () => {
  jwks = createKeyring([await generateKey()]).publicJwks()
  upstream = await startUpstream({
    routes,
    answer: (_req, res) => {
      res.statusCode = 404
      res.end()
    },
  })
  base = upstream.origin
})

afterAll(() => upstream.close())

beforeEach(() => {
  clearJwksCache()
  upstream.received.splice(0)
})

async function failure(promise: Promise<unknown>): Promise<KeyholeError> {
  const err = await promise.then(
    () => undefined,
    (e) => e,
  )
  if (!isKeyholeError(err)) throw new Error(`expected a KeyholeError, got ${String(err)}`)
  return err
}

describe('fetchJwks', () => {
  it('fetches a JWKS from a real server and caches it', async () => {
    expect(await fetchJwks(`${base}/jwks.json`)).toEqual(jwks)
    expect(await fetchJwks(`${base}/jwks.json`)).toEqual(jwks)
    expect(hits('/jwks.json')).toBe(1)
  })

  it('shares one request between concurrent callers', async () => {
    await Promise.all(Array.from({ length: 10 }, () => fetchJwks(`${base}/jwks.json`)))
    expect(hits('/jwks.json')).toBe(1)
  })

  it('fetches again after the cache TTL', async () => {
    await fetchJwks(`${base}/jwks.json`, { cacheTtl: 0 })
    await fetchJwks(`${base}/jwks.json`, { cacheTtl: 0 })
    expect(hits('/jwks.json')).toBe(2)
  })

  it('times out with jwks_unavailable', async () => {
    const err = await failure(fetchJwks(`${base}/slow.json`, { timeout: 0.2 }))
    expect(err.code).toBe('jwks_unavailable')
    expect(err.message).toMatch(/no answer within 200 ms/)
  })

  it('does not cache failures', async () => {
    expect((await failure(fetchJwks(`${base}/500.json`))).code).toBe('jwks_unavailable')
    expect((await failure(fetchJwks(`${base}/500.json`))).code).toBe('jwks_unavailable')
    expect(hits('/500.json')).toBe(2)
  })

  it.each(['/500.json', '/html', '/nokeys.json', '/huge.json', '/missing', '/redirect'])(
    '%s fails with jwks_unavailable',
    async (path) => {
      expect((await failure(fetchJwks(`${base}${path}`))).code).toBe('jwks_unavailable')
    },
  )

  it('fails with jwks_unavailable when nothing listens', async () => {
    const port = await closedPort()
    expect((await failure(fetchJwks(`http://127.0.0.1:${port}/jwks.json`))).code).toBe('jwks_unavailable')
  })

  it('refuses plain http to a non-loopback host unless allowed, and other schemes', async () => {
    expect((await failure(fetchJwks('http://proxy.example/jwks.json'))).code).toBe('jwks_unavailable')
    expect((await failure(fetchJwks('file:///etc/passwd'))).code).toBe('jwks_unavailable')
    expect((await failure(fetchJwks('not a url'))).code).toBe('jwks_unavailable')
  })

  it('names only the origin in messages, never the path or query', async () => {
    const err = await failure(fetchJwks(`${base}/500.json?access_token=hunter2`))
    expect(err.message).toContain(base)
    expect(err.message).not.toContain('hunter2')
    expect(err.message).not.toContain('500.json')
  })
})
