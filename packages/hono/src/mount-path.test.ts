import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { mountSegments, pathBelowMount } from './mount-path.js'

describe('mountSegments', () => {
  test.each([
    ['/proxy/*', 1],
    ['/a/b/c/*', 3],
    ['/t/:tenant/proxy/*', 3],
    ['*', 0],
    ['/*', 0],
    ['/proxy', 1],
  ])('%s → %i', (pattern, count) => {
    expect(mountSegments(pattern)).toBe(count)
  })
})

describe('pathBelowMount', () => {
  test.each([
    ['http://p/proxy/https/api.x.com/a%2Fb?q=%20', '/proxy/*', '/https/api.x.com/a%2Fb?q=%20'],
    ['/proxy/https/api.x.com/a', '/proxy/*', '/https/api.x.com/a'],
    ['http://p/proxy', '/proxy/*', '/'],
    ['http://p/proxy?x=1', '/proxy/*', '/?x=1'],
    ['http://p/proxy/', '/proxy/*', '/'],
    ['http://p/t/acme/proxy/http/h/x?y', '/t/:tenant/proxy/*', '/http/h/x?y'],
    ['http://p/https/h/x', '*', '/https/h/x'],
    ['http://p?x=1', '*', '/?x=1'],
    // A query that looks like a path is never counted as segments.
    ['http://p/proxy?to=http://a/b/c', '/proxy/*', '/?to=http://a/b/c'],
    ['/proxy?to=http://a/b/c', '/proxy/*', '/?to=http://a/b/c'],
  ])('%s under %s', (url, pattern, expected) => {
    expect(pathBelowMount(url, pattern)).toBe(expected)
  })

  const segment = fc.stringMatching(/^[A-Za-z0-9._~%!$&'()*+,;=:@-]{1,8}$/)
  test('returns exactly the raw rest below any static mount (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9]{1,6}$/), { maxLength: 4 }),
        fc.array(segment, { maxLength: 6 }),
        fc.option(fc.stringMatching(/^[A-Za-z0-9%&=/?:+-]{0,12}$/), { nil: undefined }),
        (mount, rest, query) => {
          const prefix = mount.map((s) => `/${s}`).join('')
          const restPath = rest.map((s) => `/${s}`).join('')
          const tail = `${restPath}${query === undefined ? '' : `?${query}`}`
          const url = `http://proxy.local:8080${prefix}${tail}`
          const expected = restPath === '' ? `/${query === undefined ? '' : `?${query}`}` : tail
          expect(pathBelowMount(url, `${prefix}/*`)).toBe(expected)
          // An origin-form request target always starts with `/`, even with nothing before the query.
          const originForm = `${prefix}${tail}`.startsWith('/') ? `${prefix}${tail}` : `/${prefix}${tail}`
          expect(pathBelowMount(originForm, `${prefix}/*`)).toBe(expected)
        },
      ),
    )
  })
})
