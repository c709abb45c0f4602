import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Injection } from '../types.js'
import { compileInjection, injectCredentials, injectQuery } from './inject-credentials.js'

const grantOf = (inject: Injection[]) => Object.freeze({ inject: Object.freeze(inject) })

describe('compileInjection', () => {
  it('groups injections by place and caches the plan per grant object', () => {
    const grant = grantOf([
      { in: 'header', name: 'Authorization', value: 'Bearer a' },
      { in: 'header', name: 'x-extra', value: '1' },
      { in: 'header', name: 'X-Extra', value: '2' },
      { in: 'query', name: 'api key', value: 'k/v' },
      { in: 'cookie', name: 'sid', value: 's1' },
      { in: 'cookie', name: 'csrf', value: 'c1' },
    ])
    const plan = compileInjection(grant)
    expect(plan.headers).toEqual([
      ['Authorization', 'Bearer a'],
      ['x-extra', '1, 2'],
    ])
    // Every header an injector writes, the cookie injector's Cookie included.
    expect([...plan.headerNames]).toEqual(['authorization', 'x-extra', 'cookie'])
    expect(plan.query).toBe('api%20key=k%2Fv')
    expect(plan.cookieHeader).toBe('sid=s1; csrf=c1')
    // Each injector's secrets: a `<scheme> <credential>` header value also gives the credential alone.
    expect(plan.secrets).toEqual(['Bearer a', 'a', '1', '2', 'k/v', 's1', 'c1'])
    expect(plan.steps).toEqual([])
    expect(compileInjection(grant)).toBe(plan)
  })
})

describe('injectQuery', () => {
  const plan = compileInjection(grantOf([{ in: 'query', name: 'api_key', value: 'S' }]))

  it.each([
    ['', '?api_key=S'],
    ['?', '?api_key=S'],
    ['?a=1', '?a=1&api_key=S'],
    ['?a=%2F&b=c+d&&e', '?a=%2F&b=c+d&&e&api_key=S'],
    ['?api_key=mine', '?api_key=S'],
    ['?api_key', '?api_key=S'],
    ['?x=1&api%5Fkey=mine&y=2', '?x=1&y=2&api_key=S'],
    ['?x=1&api_key=a&api_key=b', '?x=1&api_key=S'],
    ['?api_keyx=1&xapi_key=2', '?api_keyx=1&xapi_key=2&api_key=S'],
    ['?bad=%E0%A4%A&api_key=1', '?bad=%E0%A4%A&api_key=S'],
  ])('%s -> %s', (search, expected) => {
    expect(injectQuery(search, plan)).toBe(expected)
  })

  it('leaves the query alone when the grant injects no parameter', () => {
    expect(injectQuery('?a=1', compileInjection(grantOf([{ in: 'header', name: 'x', value: 'y' }])))).toBe(
      '?a=1',
    )
  })

  it('keeps every other parameter byte for byte and in order', () => {
    const pair = fc
      .tuple(
        fc.stringMatching(/^[A-Za-z0-9%+._~-]{0,8}$/),
        fc.option(fc.stringMatching(/^[A-Za-z0-9%+=._~/-]{0,8}$/)),
      )
      .filter(([name]) => name !== 'api_key' && !name.startsWith('api%5F') && !name.startsWith('api%5f'))
      .map(([name, value]) => (value === null ? name : `${name}=${value}`))
    fc.assert(
      fc.property(fc.array(pair, { minLength: 1, maxLength: 6 }), (pairs) => {
        const search = `?${pairs.join('&')}`
        fc.pre(search !== '?') // a bare '?' is an empty query, covered above
        expect(injectQuery(search, plan)).toBe(`${search}&api_key=S`)
      }),
    )
  })
})

describe('injectCredentials', () => {
  it('sets headers and cookies, replacing inbound ones, and appends the query to the URL', () => {
    const grant = grantOf([
      { in: 'header', name: 'X-Api-Key', value: 'real' },
      { in: 'query', name: 'key', value: 'q v' },
      { in: 'cookie', name: 'sid', value: 'abc' },
    ])
    const url = new URL('https://api.example.com/a%2Fb?x=%2F&y=c+d&key=mine')
    const headers = new Headers({
      'x-api-key': 'fake',
      cookie: 'sid=fake; other=1',
      accept: 'application/json',
    })
    injectCredentials(grant, url, headers)
    expect(url.href).toBe('https://api.example.com/a%2Fb?x=%2F&y=c+d&key=q%20v')
    expect(headers.get('x-api-key')).toBe('real')
    expect(headers.get('cookie')).toBe('sid=abc')
    expect(headers.get('accept')).toBe('application/json')
  })
})
