import { createKeyring, generateKey, mint } from '@keyhole/core'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { fakeToken } from '../test/helpers.js'
import { createFetch } from './create-fetch.js'
import { KeyholeClientError } from './errors.js'

const PROXY = 'http://proxy.keyhole.test'

interface Seen {
  url: string
  method: string
  headers: Headers
  body: string
}
let seen: Seen[] = []

const server = setupServer(
  http.all(`${PROXY}/*`, async ({ request }) => {
    const body = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text()
    seen.push({ url: request.url, method: request.method, headers: request.headers, body })
    return HttpResponse.json({ ok: true })
  }),
  http.all('https://direct.example.net/*', async ({ request }) => {
    seen.push({ url: request.url, method: request.method, headers: request.headers, body: '' })
    return HttpResponse.text('direct')
  }),
)

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())
beforeEach(() => {
  seen = []
})
afterEach(() => server.resetHandlers())

const github = fakeToken(['api.github.com'], 'github')
const wildcard = fakeToken(['*.example.com'], 'wild')
const deeper = fakeToken(['*.api.example.com'], 'deeper')
const exact = fakeToken(['a.api.example.com'], 'exact')
const port = fakeToken(['api.github.com:8443', '[::1]:9000'], 'port')
const plain = fakeToken(['http://insecure.example.org'], 'plain')

function rejection(promise: Promise<unknown>): Promise<KeyholeClientError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(KeyholeClientError)
      return err as KeyholeClientError
    },
  )
}

describe('createFetch: routing and token selection', () => {
  const fetch = createFetch({ proxy: PROXY, tokens: [wildcard, github, deeper, exact, port, plain] })

  it('rewrites the URL and sends the matching token', async () => {
    const response = await fetch('https://api.github.com/repos/acme/app?page=2')
    expect(await response.json()).toEqual({ ok: true })
    expect(seen[0]!.url).toBe(`${PROXY}/https/api.github.com/repos/acme/app?page=2`)
    expect(seen[0]!.headers.get('x-keyhole-token')).toBe(github)
  })

  it('prefers the most specific pattern', async () => {
    await fetch('https://a.api.example.com/')
    await fetch('https://b.api.example.com/')
    await fetch('https://www.example.com/')
    expect(seen.map((s) => s.headers.get('x-keyhole-token'))).toEqual([exact, deeper, wildcard])
  })

  it('keeps non-default ports and IPv6 literals in the proxied path', async () => {
    await fetch('https://api.github.com:8443/x')
    await fetch('https://[::1]:9000/y')
    expect(seen.map((s) => s.url)).toEqual([
      `${PROXY}/https/api.github.com:8443/x`,
      `${PROXY}/https/[::1]:9000/y`,
    ])
    expect(seen.map((s) => s.headers.get('x-keyhole-token'))).toEqual([port, port])
  })

  it('locks scheme and port like the proxy does', async () => {
    await fetch('http://insecure.example.org/a')
    expect(seen[0]!.url).toBe(`${PROXY}/http/insecure.example.org/a`)
    for (const url of [
      'http://api.github.com/',
      'https://insecure.example.org/',
      'https://api.github.com:444/',
      'https://example.com/',
    ]) {
      const error = await rejection(fetch(url))
      expect(error.code).toBe('no_token_for_host')
    }
    expect(seen).toHaveLength(1)
  })

  it('normalizes case and trailing dots before matching', async () => {
    await fetch('https://API.GitHub.com./user')
    expect(seen[0]!.headers.get('x-keyhole-token')).toBe(github)
  })

  it('breaks ties by order, and routes a record by its keys', async () => {
    const first = fakeToken(['api.github.com'], 'first')
    const second = fakeToken(['api.github.com'], 'second')
    await createFetch({ proxy: PROXY, tokens: [first, second] })('https://api.github.com/')
    await createFetch({ proxy: PROXY, tokens: [second, first] })('https://api.github.com/')
    const byRecord = createFetch({
      proxy: PROXY,
      tokens: { '*.github.com': first, 'api.github.com': second },
    })
    await byRecord('https://api.github.com/')
    await byRecord('https://uploads.github.com/')
    expect(seen.map((s) => s.headers.get('x-keyhole-token'))).toEqual([first, second, second, first])
  })

  it('refuses locally, naming the host and never the token', async () => {
    const error = await rejection(fetch('https://evil.example.net/steal?x=1'))
    expect(error.code).toBe('no_token_for_host')
    expect(error.message).toContain('evil.example.net')
    expect(error.message).not.toContain(github)
    expect(seen).toHaveLength(0)
    expect((await rejection(fetch('https://user:pw@api.github.com/'))).code).toBe('bad_url')
    expect((await rejection(fetch('/relative'))).code).toBe('bad_url')
    expect((await rejection(fetch('data:text/plain,hi'))).code).toBe('no_token_for_host')
  })

  it('works with a proxy mounted below a path, with or without a trailing slash', async () => {
    await createFetch({ proxy: `${PROXY}/keyhole/`, tokens: [github] })('https://api.github.com/user')
    await createFetch({ proxy: new URL(`${PROXY}/keyhole`), tokens: [github] })('https://api.github.com/user')
    expect(seen.map((s) => s.url)).toEqual([
      `${PROXY}/keyhole/https/api.github.com/user`,
      `${PROXY}/keyhole/https/api.github.com/user`,
    ])
  })

  it('reads the hosts hint of a real minted token', async () => {
    const keyring = createKeyring([await generateKey()])
    const token = await mint(
      {
        hosts: ['api.openai.com'],
        inject: [{ in: 'header', name: 'Authorization', value: 'Bearer sk-test' }],
        ttl: '5m',
      },
      { to: keyring.publicJwks() },
    )
    await createFetch({ proxy: PROXY, tokens: [token] })('https://api.openai.com/v1/models')
    expect(seen[0]!.headers.get('x-keyhole-token')).toBe(token)
  })
})

describe('createFetch: the request is preserved', () => {
  const fetch = createFetch({ proxy: PROXY, tokens: [github] })

  it('keeps method, headers and body, and replaces a caller-set token', async () => {
    await fetch('https://api.github.com/repos/acme/app/issues', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Custom': 'yes',
        'X-Keyhole-Token': 'token-for-another-host',
      },
      body: JSON.stringify({ title: 'bug' }),
    })
    const request = seen[0]!
    expect(request.method).toBe('POST')
    expect(request.headers.get('content-type')).toBe('application/json')
    expect(request.headers.get('x-custom')).toBe('yes')
    expect(request.headers.get('x-keyhole-token')).toBe(github)
    expect(request.body).toBe('{"title":"bug"}')

    // SDKs often pass a Headers instance.
    await fetch('https://api.github.com/user', {
      headers: new Headers({ Accept: 'application/json', 'X-Keyhole-Token': 'x' }),
    })
    expect(seen[1]!.headers.get('accept')).toBe('application/json')
    expect(seen[1]!.headers.get('x-keyhole-token')).toBe(github)
  })

  it('accepts URL objects and Requests, with init overriding the Request', async () => {
    await fetch(new URL('https://api.github.com/user'), { method: 'DELETE' })
    const original = new Request('https://api.github.com/gists', {
      method: 'PUT',
      headers: { 'X-From-Request': '1', 'X-Keyhole-Token': 'other' },
      body: 'request body',
    })
    await fetch(original)
    await fetch(new Request('https://api.github.com/a', { method: 'POST', body: 'old' }), {
      method: 'PATCH',
      body: 'new',
    })
    expect(seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ['DELETE', `${PROXY}/https/api.github.com/user`, ''],
      ['PUT', `${PROXY}/https/api.github.com/gists`, 'request body'],
      ['PATCH', `${PROXY}/https/api.github.com/a`, 'new'],
    ])
    expect(seen[1]!.headers.get('x-from-request')).toBe('1')
    expect(seen.every((s) => s.headers.get('x-keyhole-token') === github)).toBe(true)
  })

  it('keeps the path encoding and the query exactly', async () => {
    const paths = [
      '/a%2Fb/%7e/caf%C3%A9/%20x?q=a%20b&x=%2F&y=+&z&&=',
      '/search?',
      '/p;matrix=1/@user/:colon/%25?%E2%9C%93',
      '/café?ü=ö',
    ]
    for (const path of paths) await fetch(`https://api.github.com${path}#fragment`)
    expect(seen.map((s) => s.url.slice(`${PROXY}/https/api.github.com`.length))).toEqual([
      '/a%2Fb/%7e/caf%C3%A9/%20x?q=a%20b&x=%2F&y=+&z&&=',
      '/search?',
      '/p;matrix=1/@user/:colon/%25?%E2%9C%93',
      '/caf%C3%A9?%C3%BC=%C3%B6',
    ])
  })

  it('never lets dot-segments climb out of the host prefix', async () => {
    await fetch('https://api.github.com/a/../../../evil.example.net/x')
    await fetch('https://api.github.com/%2e%2e/%2E%2E/evil.example.net/y')
    await fetch('https://api.github.com/a\\..\\..\\evil.example.net/z')
    expect(seen.map((s) => s.url)).toEqual([
      `${PROXY}/https/api.github.com/evil.example.net/x`,
      `${PROXY}/https/api.github.com/evil.example.net/y`,
      `${PROXY}/https/api.github.com/evil.example.net/z`,
    ])
  })

  it('streams a request body', async () => {
    const encoder = new TextEncoder()
    const chunks = ['first chunk;', 'second chunk;', 'third']
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = chunks.shift()
        if (next === undefined) controller.close()
        else controller.enqueue(encoder.encode(next))
      },
    })
    await fetch('https://api.github.com/upload', { method: 'POST', body: stream })
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('from a '))
        controller.enqueue(encoder.encode('Request'))
        controller.close()
      },
    })
    await fetch(
      new Request('https://api.github.com/upload2', {
        method: 'POST',
        body: streamed,
        duplex: 'half',
      } as RequestInit),
    )
    expect(seen.map((s) => s.body)).toEqual(['first chunk;second chunk;third', 'from a Request'])
  })

  it('honours the signal: aborted before, and while in flight', async () => {
    const before = new AbortController()
    before.abort()
    await expect(fetch('https://api.github.com/x', { signal: before.signal })).rejects.toMatchObject({
      name: 'AbortError',
    })
    expect(seen).toHaveLength(0)

    let reached!: () => void
    const arrived = new Promise<void>((resolve) => {
      reached = resolve
    })
    let release!: () => void
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    server.use(
      http.all(`${PROXY}/https/api.github.com/slow`, async () => {
        reached()
        await released
        return HttpResponse.text('late')
      }),
    )
    const during = new AbortController()
    const pending = fetch(new Request('https://api.github.com/slow', { signal: during.signal }))
    await arrived
    during.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    release()
  })
})

describe('createFetch: passthrough', () => {
  it('sends unmatched requests directly, without any keyhole token', async () => {
    const fetch = createFetch({ proxy: PROXY, tokens: [github], passthrough: true })
    const response = await fetch('https://direct.example.net/x', { headers: { 'X-Keyhole-Token': github } })
    expect(await response.text()).toBe('direct')
    await fetch(
      new Request('https://direct.example.net/y', { headers: { 'X-Keyhole-Token': github, 'X-Other': '1' } }),
    )
    expect(seen.map((s) => s.url)).toEqual(['https://direct.example.net/x', 'https://direct.example.net/y'])
    expect(seen.map((s) => s.headers.get('x-keyhole-token'))).toEqual([null, null])
    expect(seen[1]!.headers.get('x-other')).toBe('1')
    await fetch('https://api.github.com/still-proxied')
    expect(seen[2]!.url).toBe(`${PROXY}/https/api.github.com/still-proxied`)
  })
})

describe('createFetch: redirects are followed through the proxy, never by fetch', () => {
  const THIRD = 'https://third.example.org'
  // The proxy hands the upstream's 3xx back untouched; what it redirects to is up to the path.
  function redirecting(status: number, location: string) {
    server.use(
      http.all(`${PROXY}/https/api.github.com/redirect`, async ({ request }) => {
        const body = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text()
        seen.push({ url: request.url, method: request.method, headers: request.headers, body })
        return new HttpResponse(null, { status, headers: { location } })
      }),
      http.all(`${THIRD}/*`, async ({ request }) => {
        seen.push({ url: request.url, method: request.method, headers: request.headers, body: '' })
        return HttpResponse.text('third party')
      }),
    )
  }

  it('refuses to follow a redirect to a host no token names (the token never goes there)', async () => {
    redirecting(302, `${THIRD}/steal`)
    const fetch = createFetch({ proxy: PROXY, tokens: [github] })
    const error = await rejection(fetch('https://api.github.com/redirect'))
    expect(error.code).toBe('no_token_for_host')
    expect(error.message).toBe(
      `no keyhole token for ${THIRD} (a redirect led there); the request was not sent`,
    )
    expect(seen.map((s) => s.url)).toEqual([`${PROXY}/https/api.github.com/redirect`])
  })

  it('with passthrough, follows it directly without the token (or the proof)', async () => {
    redirecting(302, `${THIRD}/steal`)
    const fetch = createFetch({ proxy: PROXY, tokens: [github], passthrough: true })
    const response = await fetch('https://api.github.com/redirect', { headers: { authorization: 'mine' } })
    expect(await response.text()).toBe('third party')
    expect(seen.map((s) => s.url)).toEqual([`${PROXY}/https/api.github.com/redirect`, `${THIRD}/steal`])
    expect(seen[1]!.headers.get('x-keyhole-token')).toBeNull()
    expect(seen[1]!.headers.get('keyhole-proof')).toBeNull()
    // As fetch does across origins: the caller's own Authorization stays behind.
    expect(seen[1]!.headers.get('authorization')).toBeNull()
  })

  it('follows a relative Location against the target URL, through the proxy, with the token', async () => {
    redirecting(301, '/user?from=redirect')
    const fetch = createFetch({ proxy: PROXY, tokens: [github] })
    expect(await (await fetch('https://api.github.com/redirect')).json()).toEqual({ ok: true })
    expect(seen.map((s) => s.url)).toEqual([
      `${PROXY}/https/api.github.com/redirect`,
      `${PROXY}/https/api.github.com/user?from=redirect`,
    ])
    expect(seen.every((s) => s.headers.get('x-keyhole-token') === github)).toBe(true)
  })

  it("honours redirect: 'manual' and 'error', and caps the hops", async () => {
    redirecting(302, `${THIRD}/steal`)
    const fetch = createFetch({ proxy: PROXY, tokens: [github] })
    const manual = await fetch('https://api.github.com/redirect', { redirect: 'manual' })
    expect(manual.status).toBe(302)
    expect(manual.headers.get('location')).toBe(`${THIRD}/steal`)
    const fromRequest = await fetch(new Request('https://api.github.com/redirect', { redirect: 'manual' }))
    expect(fromRequest.status).toBe(302)
    await expect(fetch('https://api.github.com/redirect', { redirect: 'error' })).rejects.toThrow(TypeError)
    redirecting(307, '/redirect')
    await expect(fetch('https://api.github.com/redirect')).rejects.toThrow('too many redirects')
    expect(seen.filter((s) => s.url.startsWith(THIRD))).toEqual([])
  })

  it('turns a POST into a GET on 303, replays a 307 body, refuses to replay a streamed one', async () => {
    const fetch = createFetch({ proxy: PROXY, tokens: [github] })
    redirecting(303, '/user')
    await fetch('https://api.github.com/redirect', {
      method: 'POST',
      body: 'form=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(seen.map((s) => [s.method, s.body, s.headers.get('content-type')])).toEqual([
      ['POST', 'form=1', 'application/x-www-form-urlencoded'],
      ['GET', '', null],
    ])
    seen = []
    redirecting(307, '/user')
    await fetch('https://api.github.com/redirect', { method: 'PUT', body: 'again' })
    expect(seen.map((s) => [s.method, s.body])).toEqual([
      ['PUT', 'again'],
      ['PUT', 'again'],
    ])
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('once'))
        controller.close()
      },
    })
    await expect(
      fetch('https://api.github.com/redirect', {
        method: 'PUT',
        body: stream,
        duplex: 'half',
      } as RequestInit),
    ).rejects.toThrow('cannot replay a streamed request body')
  })
})

describe('createFetch: options', () => {
  it('refuses unusable options without echoing tokens', () => {
    const secretish = 'not-a-token-SECRET'
    for (const [options, code] of [
      [{ proxy: 'not a url', tokens: [github] }, 'invalid_options'],
      [{ proxy: 'ftp://proxy', tokens: [github] }, 'invalid_options'],
      [{ proxy: `${PROXY}?x=1`, tokens: [github] }, 'invalid_options'],
      [{ proxy: PROXY, tokens: [] }, 'invalid_options'],
      [{ proxy: PROXY, tokens: [secretish] }, 'invalid_token'],
      [
        { proxy: PROXY, tokens: [`${Buffer.from('{"alg":"x"}').toString('base64url')}.a.b.c.d`] },
        'invalid_token',
      ],
      [{ proxy: PROXY, tokens: { 'bad pattern/': github } }, 'invalid_options'],
    ] as const) {
      let error: unknown
      try {
        createFetch(options as never)
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(KeyholeClientError)
      expect((error as KeyholeClientError).code).toBe(code)
      expect((error as Error).message).not.toContain('SECRET')
    }
  })

  it('uses the fetch it is given', async () => {
    const calls: string[] = []
    const fetch = createFetch({
      proxy: PROXY,
      tokens: [github],
      fetch: (input, init) => {
        calls.push(String(input))
        return globalThis.fetch(input, init)
      },
    })
    await fetch('https://api.github.com/user')
    expect(calls).toEqual([`${PROXY}/https/api.github.com/user`])
  })
})
