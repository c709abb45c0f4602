import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isKeyholeError } from '../errors.js'
import { assertValidPolicy } from '../policy/validate-policy.js'
import { basicInjector } from './basic.js'
import { cookieInjector } from './cookie.js'
import { headerInjector } from './header.js'
import { hmacInjector } from './hmac.js'
import { copyInjection, injectionType, normalizeInjection } from './injection-type.js'
import type { Injector } from './injector.js'
import { queryInjector } from './query.js'
import { builtinInjectors, createInjectorRegistry } from './registry.js'
import { context, outgoing } from './test-request.fixture.js'
import { assertValidInjections } from './validate-injections.js'

const SECRET = 'sk_live_TOPSECRET_9f8e7d'

function refused(run: () => unknown, code = 'invalid_grant'): Error {
  try {
    run()
  } catch (error) {
    expect(isKeyholeError(error, code as 'invalid_grant')).toBe(true)
    expect((error as Error).message).not.toContain(SECRET)
    return error as Error
  }
  throw new Error('expected a refusal')
}

describe('header, query and cookie', () => {
  it('sets a header, replacing an inbound one, and lists the credential alone as a secret too', async () => {
    const request = outgoing('https://api.example.com/', { headers: { authorization: 'Bearer mine' } })
    const entry = { type: 'header', name: 'Authorization', value: `Bearer ${SECRET}` } as const
    await headerInjector.apply(request, entry, context())
    expect(request.headers.get('authorization')).toBe(`Bearer ${SECRET}`)
    expect(headerInjector.secrets(entry)).toEqual([`Bearer ${SECRET}`, SECRET])
    expect(headerInjector.secrets({ type: 'header', name: 'X-Key', value: SECRET })).toEqual([SECRET])
    expect(headerInjector.writesHeaders(entry)).toEqual(['authorization'])
  })

  it('sets a query parameter, dropping inbound ones of that decoded name, keeping the rest byte for byte', async () => {
    const request = outgoing('https://api.example.com/x?q=a%20b+c&api%5Fkey=mine&api_key=again&z=%7e')
    await queryInjector.apply(request, { type: 'query', name: 'api_key', value: `${SECRET}&x=1` }, context())
    expect(request.url.search).toBe(`?q=a%20b+c&z=%7e&api_key=${encodeURIComponent(`${SECRET}&x=1`)}`)
    const empty = outgoing('https://api.example.com/x')
    await queryInjector.apply(empty, { type: 'query', name: 'k', value: 'v w' }, context())
    expect(empty.url.search).toBe('?k=v%20w')
  })

  it('replaces the inbound Cookie with the grant cookies, in order', async () => {
    const request = outgoing('https://api.example.com/', {})
    await cookieInjector.apply(request, { type: 'cookie', name: 'a', value: '1' }, context())
    await cookieInjector.apply(request, { type: 'cookie', name: 'b', value: '"2"' }, context())
    expect(request.headers.get('cookie')).toBe('a=1; b="2"')
    expect(cookieInjector.secrets({ type: 'cookie', name: 'b', value: '"22"' })).toEqual(['"22"', '22'])
  })

  it('refuses CR, LF and NUL and other hostile values at validation, naming only the field', () => {
    for (const value of [
      `${SECRET}\r\nX-Evil: 1`,
      `${SECRET}\n`,
      `${SECRET}\0`,
      ` ${SECRET}`,
      `${SECRET}\u0100`,
    ]) {
      expect(
        refused(() => headerInjector.validate({ type: 'header', name: 'X-Key', value }, 'inject[0]')).message,
      ).toMatch(/^inject\[0\]\.value/)
    }
    refused(() => headerInjector.validate({ name: `X-${SECRET}\r\n`, value: 'v' }, 'inject[0]'))
    refused(() => headerInjector.validate({ name: 'Host', value: SECRET }, 'inject[0]'))
    refused(() => headerInjector.validate({ name: 'X-Forwarded-For', value: SECRET }, 'inject[0]'))
    refused(() => queryInjector.validate({ name: 'k', value: `${SECRET}\u0001` }, 'inject[0]'))
    refused(() => queryInjector.validate({ name: 'k', value: `${SECRET}\ud800` }, 'inject[0]'))
    refused(() => cookieInjector.validate({ name: 'k', value: `${SECRET};x=1` }, 'inject[0]'))
  })
})

describe('basic', () => {
  it('renders Authorization: Basic base64(user:pass) in UTF-8 and lists every form as a secret', async () => {
    const request = outgoing('https://api.example.com/', { headers: { authorization: 'Basic bWluZQ==' } })
    const entry = { type: 'basic', username: 'Aladdin', password: 'open sesame' } as const
    await basicInjector.apply(request, entry, context())
    expect(request.headers.get('authorization')).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==')
    expect(basicInjector.secrets(entry)).toEqual([
      'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==',
      'QWxhZGRpbjpvcGVuIHNlc2FtZQ==',
      'open sesame',
    ])
    const utf = outgoing('https://api.example.com/')
    await basicInjector.apply(utf, { type: 'basic', username: 'tëst', password: 'pässwörd' }, context())
    expect(utf.headers.get('authorization')).toBe(`Basic ${Buffer.from('tëst:pässwörd').toString('base64')}`)
  })

  it('refuses a colon in the user name and control characters', () => {
    refused(() => basicInjector.validate({ username: 'a:b', password: SECRET }, 'inject[0]'))
    refused(() => basicInjector.validate({ username: 'a', password: `${SECRET}\r\n` }, 'inject[0]'))
    refused(() => basicInjector.validate({ username: 'a', password: `${SECRET}\t` }, 'inject[0]'))
    refused(() => basicInjector.validate({ username: 'a' }, 'inject[0]'))
  })
})

describe('hmac', () => {
  const body = '{"event":"push","id":12345678901234567890}'

  it('signs the buffered body as node:crypto does, hex and base64, sha256 and sha512, with a prefix', async () => {
    for (const [algorithm, encoding] of [
      ['sha256', 'hex'],
      ['sha512', 'base64'],
    ] as const) {
      const request = outgoing('https://hooks.example.com/', { method: 'POST', body })
      const entry = {
        type: 'hmac',
        name: 'X-Signature',
        key: SECRET,
        algorithm,
        encoding,
        prefix: `${algorithm}=`,
      } as const
      const applied = await hmacInjector.apply(request, entry, context())
      const expected = createHmac(algorithm, SECRET).update(body).digest(encoding)
      expect(request.headers.get('x-signature')).toBe(`${algorithm}=${expected}`)
      expect(applied).toEqual({ secrets: [expected] })
    }
  })

  it('signs the empty body when there is none, and lists the key as a secret', async () => {
    const request = outgoing('https://hooks.example.com/')
    const entry = { type: 'hmac', name: 'X-Sig', key: SECRET } as const
    await hmacInjector.apply(request, entry, context())
    expect(request.headers.get('x-sig')).toBe(createHmac('sha256', SECRET).update('').digest('hex'))
    expect(hmacInjector.secrets(entry)).toEqual([SECRET])
    expect(hmacInjector.needsBody(entry, request)).toBe(true)
    expect(hmacInjector.signs).toBe(true)
  })

  it('refuses unknown algorithms and encodings, bad names and prefixes', () => {
    refused(() => hmacInjector.validate({ name: 'X-Sig', key: SECRET, algorithm: 'md5' }, 'inject[0]'))
    refused(() => hmacInjector.validate({ name: 'X-Sig', key: SECRET, encoding: 'base32' }, 'inject[0]'))
    refused(() => hmacInjector.validate({ name: 'Content-Length', key: SECRET }, 'inject[0]'))
    refused(() => hmacInjector.validate({ name: 'X-Sig', key: SECRET, prefix: 'a\r\nb' }, 'inject[0]'))
    refused(() => hmacInjector.validate({ name: 'X-Sig', key: `${SECRET}\n` }, 'inject[0]'))
  })
})

describe('entries: type, the older in, and copying', () => {
  it('reads in as the older name of type, and normalizes it in one place', () => {
    expect(injectionType({ in: 'query', name: 'k', value: 'v' })).toBe('query')
    expect(injectionType({ type: 'header', in: 'header', name: 'k', value: 'v' })).toBe('header')
    expect(normalizeInjection({ in: 'header', name: 'X-Key', value: 'k' })).toEqual({
      type: 'header',
      name: 'X-Key',
      value: 'k',
    })
    refused(() => injectionType({ type: 'header', in: 'query' }))
    refused(() => injectionType({ in: 'basic' }))
    refused(() => injectionType({}))
  })

  it('copies type (or in, as written) and exactly the fields of the injector, reading each once', () => {
    expect(copyInjection({ type: 'basic', username: 'u', password: 'p', note: 'x', name: 'y' })).toEqual({
      type: 'basic',
      username: 'u',
      password: 'p',
    })
    expect(copyInjection({ in: 'header', name: 'n', value: 'v', extra: 1 })).toEqual({
      in: 'header',
      name: 'n',
      value: 'v',
    })
    expect(copyInjection({ type: 'aws-sigv4', accessKeyId: 'x' })).toEqual({ type: 'aws-sigv4' })
    let reads = 0
    const sneaky = {
      type: 'header',
      name: 'X-Key',
      get value() {
        reads++
        return 'v'
      },
    }
    copyInjection(sneaky)
    expect(reads).toBe(1)
  })
})

describe('validation through the registry', () => {
  const policy = (inject: unknown[]) => ({ hosts: ['api.example.com'], inject })

  it('accepts every built-in type and the older in', () => {
    expect(() =>
      assertValidPolicy(
        policy([
          { in: 'header', name: 'X-Key', value: SECRET },
          { type: 'query', name: 'k', value: SECRET },
          { type: 'cookie', name: 'a', value: '1' },
          { type: 'cookie', name: 'b', value: '2' },
          { type: 'basic', username: 'u', password: SECRET },
          { type: 'body', field: '/auth/key', value: SECRET },
          { type: 'hmac', name: 'X-Sig', key: SECRET },
        ]),
      ),
    ).not.toThrow()
    expect(() =>
      assertValidPolicy(
        policy([
          { type: 'oauth2', tokenUrl: 'https://auth.example.com/token', clientId: 'c', clientSecret: SECRET },
        ]),
      ),
    ).not.toThrow()
  })

  it('refuses an unknown type naming the field, never the value', () => {
    const error = refused(() =>
      assertValidPolicy(
        policy([
          { type: 'header', name: 'a', value: 'b' },
          { type: 'query', name: 'q', value: 'v' },
          { type: SECRET },
        ]),
      ),
    )
    expect(error.message).toBe('inject[2].type is not a credential type this proxy knows')
    refused(() =>
      assertValidPolicy(policy([{ type: 'aws-sigv4', accessKeyId: 'A', secretAccessKey: SECRET }])),
    )
  })

  it('refuses two entries writing the same header, whatever their types', () => {
    for (const pair of [
      [
        { type: 'basic', username: 'u', password: SECRET },
        { type: 'header', name: 'Authorization', value: SECRET },
      ],
      [
        { type: 'oauth2', tokenUrl: 'https://a.example.com/t', clientId: 'c', clientSecret: SECRET },
        { in: 'header', name: 'authorization', value: SECRET },
      ],
      [
        { type: 'hmac', name: 'X-Sig', key: SECRET },
        { type: 'header', name: 'x-sig', value: SECRET },
      ],
      [
        { type: 'body', field: '/key', value: SECRET },
        { type: 'body', field: '/key', value: 'other' },
      ],
      [
        { type: 'cookie', name: 'sid', value: 'a' },
        { in: 'cookie', name: 'SID', value: 'b' },
      ],
    ]) {
      expect(refused(() => assertValidPolicy(policy(pair))).message).toMatch(
        /^inject\[1\] injects the same \w+/,
      )
    }
    // A body field inside another, either order; siblings and look-alike names are fine.
    for (const [a, b] of [
      ['/a/b', '/a'],
      ['/a', '/a/b/c'],
    ]) {
      const nested = [
        { type: 'body', field: a, value: SECRET },
        { type: 'body', field: b, value: 'other' },
      ]
      expect(refused(() => assertValidPolicy(policy(nested))).message).toBe(
        'inject[1] injects inside the same body field as inject[0]',
      )
    }
    for (const [a, b] of [
      ['/a/b', '/a/c'],
      ['/a', '/ab'],
    ]) {
      expect(() =>
        assertValidPolicy(
          policy([
            { type: 'body', field: a, value: SECRET },
            { type: 'body', field: b, value: 'other' },
          ]),
        ),
      ).not.toThrow()
    }
  })

  it('validates plug-in types when the registry has them, and refuses duplicate plug-ins', () => {
    const plugin: Injector = {
      type: 'x-plugin',
      fields: ['token'],
      validate(entry, where) {
        if (typeof entry.token !== 'string') throw new Error(`${where}.token`)
      },
      writesHeaders: () => ['authorization'],
      needsBody: () => false,
      apply: () => {},
      secrets: () => [],
    }
    const registry = createInjectorRegistry([plugin])
    expect(registry.get('x-plugin')).toBe(plugin)
    expect(registry.get('header')).toBe(builtinInjectors.get('header'))
    expect(() => assertValidInjections([{ type: 'x-plugin', token: 't' }], registry)).not.toThrow()
    refused(() =>
      assertValidInjections(
        [
          { type: 'x-plugin', token: 't' },
          { type: 'basic', username: 'u', password: 'p' },
        ],
        registry,
      ),
    )
    expect(() => createInjectorRegistry([plugin, plugin])).toThrow(TypeError)
    expect('set' in builtinInjectors).toBe(false)
    expect(Object.isFrozen(builtinInjectors)).toBe(true)
  })
})
