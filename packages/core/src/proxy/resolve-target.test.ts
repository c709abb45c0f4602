import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isKeyholeError } from '../errors.js'
import { compileGatewayTarget, pathFromUrl, resolveOpenTarget } from './resolve-target.js'

const badTarget = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    return isKeyholeError(error, 'bad_target')
  }
  return false
}

// Visible ASCII without the characters that end a path segment ('?', '#') or that keyhole
// refuses in a path ('\').
const pathChar = fc.constantFrom(
  ...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter(
    (c) => !'?#\\'.includes(c),
  ),
)
const queryChar = fc.constantFrom(
  ...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter(
    (c) => c !== '#',
  ),
)

describe('resolveOpenTarget', () => {
  it('reads scheme, host, path and query', () => {
    expect(resolveOpenTarget('/https/api.github.com/repos/acme/app?per_page=5')).toEqual({
      url: 'https://api.github.com/repos/acme/app?per_page=5',
      scheme: 'https',
      path: '/repos/acme/app',
      search: '?per_page=5',
    })
    expect(resolveOpenTarget('/HTTP/127.0.0.1:8080').url).toBe('http://127.0.0.1:8080/')
    expect(resolveOpenTarget('/https/[::1]:8443/x').url).toBe('https://[::1]:8443/x')
    expect(resolveOpenTarget('/https/example.com?q=1').url).toBe('https://example.com/?q=1')
    expect(resolveOpenTarget('/https/example.com/a#frag').url).toBe('https://example.com/a')
  })

  it.each([
    ['/ftp/example.com/x'],
    ['/https'],
    ['/https/'],
    ['https/example.com/x'],
    ['/https/user@example.com/x'],
    ['/https/:pw@example.com/x'],
    ['/https/example%2Ecom/x'],
    ['/https/exa mple.com/x'],
    ['/https/example.com:/x'],
    ['/https/example.com:80:80/x'],
    ['/https/.example.com/x'],
    ['/https/example.com/a\\b'],
    ['/https/example.com/caf\u00e9'],
    ['/https/example.com/a b'],
    ['/https/example.com/a?b c'],
  ])('refuses %s', (raw) => {
    expect(badTarget(() => resolveOpenTarget(raw))).toBe(true)
  })

  it('keeps any path and query byte for byte', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: pathChar, maxLength: 12 }), { maxLength: 6 }),
        fc.option(fc.string({ unit: queryChar, maxLength: 40 }), { nil: undefined }),
        (segments, query) => {
          const path = `/${segments.join('/')}`
          const search = query === undefined ? '' : `?${query}`
          const target = resolveOpenTarget(`/https/api.example.com${path}${search}`)
          expect(target.path).toBe(path)
          expect(target.search).toBe(search)
          expect(target.url).toBe(`https://api.example.com${path}${search}`)
        },
      ),
    )
  })
})

describe('compileGatewayTarget', () => {
  it('appends the raw path and query to the upstream and its base path', () => {
    const resolve = compileGatewayTarget('https://API.example.com/v1/')
    expect(resolve('/chat/completions?x=%2F').url).toBe('https://api.example.com/v1/chat/completions?x=%2F')
    expect(resolve('').url).toBe('https://api.example.com/v1')
    expect(resolve('?a=1').url).toBe('https://api.example.com/v1?a=1')
    expect(compileGatewayTarget('http://127.0.0.1:9000')('').url).toBe('http://127.0.0.1:9000/')
    expect(compileGatewayTarget(new URL('https://h.example')).call(null, '/a%2Fb').url).toBe(
      'https://h.example/a%2Fb',
    )
  })

  it('refuses upstreams that are not plain http(s) origins with an optional path', () => {
    for (const upstream of ['ftp://h/', 'https://u:p@h/', 'https://h/?q=1', 'https://h/#x', 'not a url']) {
      expect(
        badTarget(() => compileGatewayTarget(upstream)),
        upstream,
      ).toBe(true)
    }
  })

  it('refuses request paths that do not start with a slash', () => {
    const resolve = compileGatewayTarget('https://h.example')
    expect(badTarget(() => resolve('relative'))).toBe(true)
    expect(badTarget(() => resolve('/a\\b'))).toBe(true)
  })
})

describe('pathFromUrl', () => {
  it('returns the path and query without reparsing', () => {
    expect(pathFromUrl('http://proxy:8787/https/api.github.com/user?x=1')).toBe(
      '/https/api.github.com/user?x=1',
    )
    expect(pathFromUrl('http://proxy')).toBe('/')
    expect(pathFromUrl('/already/a/path')).toBe('/already/a/path')
  })
})
