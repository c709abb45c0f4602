import { describe, expect, it } from 'vitest'
import { KeyholeError } from '../errors.js'
import { authorize } from './authorize.js'
import { HOST_CASES, type Outcome, PATH_CASES } from './match-table.fixture.js'

function outcome(fn: () => unknown): Outcome | string {
  try {
    fn()
    return 'ok'
  } catch (err) {
    if (!(err instanceof KeyholeError)) throw err
    return err.code
  }
}

describe('host matching table', () => {
  it('has enough cases', () => {
    expect(HOST_CASES.length + PATH_CASES.length).toBeGreaterThanOrEqual(60)
  })

  it.each(HOST_CASES)('%s vs %s → %s', (pattern, url, expected) => {
    const policy = { hosts: [pattern] }
    expect(outcome(() => authorize(policy, { method: 'GET', url }))).toBe(expected)
    // A URL object has been through the WHATWG parser already; when that parser accepts the
    // string, policy outcomes other than bad_target must agree.
    let parsed: URL | undefined
    try {
      parsed = new URL(url)
    } catch {}
    if (parsed !== undefined && expected !== 'bad_target') {
      expect(outcome(() => authorize(policy, { method: 'GET', url: parsed }))).toBe(expected)
    }
  })
})

describe('path matching table', () => {
  it.each(PATH_CASES)('%s vs %s → %s', (pattern, path, expected) => {
    const policy = { hosts: ['api.example.com'], paths: [pattern] }
    expect(outcome(() => authorize(policy, { method: 'GET', url: `https://api.example.com${path}` }))).toBe(
      expected,
    )
  })

  it('allows every path, dot-segments included, when the grant does not restrict paths', () => {
    const policy = { hosts: ['api.example.com'] }
    for (const [, path] of PATH_CASES) {
      expect(outcome(() => authorize(policy, { method: 'GET', url: `https://api.example.com${path}` }))).toBe(
        'ok',
      )
    }
  })

  it('keeps the path and query exactly as sent', () => {
    const target = authorize(
      { hosts: ['api.example.com'] },
      { method: 'GET', url: 'https://api.example.com/a/../b%2F%7e/c?x=%2F&y=a+b#frag' },
    )
    expect(target.path).toBe('/a/../b%2F%7e/c')
    expect(target.search).toBe('?x=%2F&y=a+b')
    expect(target.href).toBe('https://api.example.com/a/../b%2F%7e/c?x=%2F&y=a+b')
  })
})
