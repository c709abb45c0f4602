// The client routes with its own host matcher (it may not import @keyhole/core at runtime).
// This suite checks it agrees with core's authorize() on the shared table and on random input.
import { authorize, KeyholeError } from '@keyhole/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HOST_CASES } from '../../core/src/policy/match-table.fixture.js'
import { matchHost, parseHostPattern, urlTarget } from '../src/match-host.js'

type Verdict = 'ok' | 'host_not_allowed' | 'bad_target'

function core(pattern: string, url: string): Verdict {
  try {
    authorize({ hosts: [pattern] }, { method: 'GET', url })
    return 'ok'
  } catch (err) {
    if (!(err instanceof KeyholeError)) throw err
    if (err.code !== 'host_not_allowed' && err.code !== 'bad_target') throw err
    return err.code
  }
}

/** What the client decides: would it route this URL with a token carrying this pattern? */
function client(pattern: string, url: string): boolean | 'unparsable' {
  const rule = parseHostPattern(pattern)
  if (rule === undefined) return false
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'unparsable'
  }
  if (parsed.username !== '' || parsed.password !== '') return 'unparsable'
  const target = urlTarget(parsed)
  return target !== undefined && matchHost(rule, target) > 0
}

function agrees(pattern: string, url: string): void {
  const verdict = core(pattern, url)
  const routed = client(pattern, url)
  if (verdict === 'ok') expect(routed, `${pattern} ${url}`).toBe(true)
  if (verdict === 'host_not_allowed') expect(routed, `${pattern} ${url}`).toBe(false)
  // bad_target: core refuses strings the WHATWG parser repairs (escapes in the host, https:host).
  // The client sends the repaired URL, which the proxy then judges on its own; either way no
  // token goes anywhere but the proxy.
}

describe('client host matcher agrees with core', () => {
  it.each(HOST_CASES)('%s vs %s (core: %s)', (pattern, url, expected) => {
    expect(core(pattern, url)).toBe(expected)
    agrees(pattern, url)
  })

  it('agrees with core on URL objects for every table pattern', () => {
    const patterns = [...new Set(HOST_CASES.map(([pattern]) => pattern))]
    for (const pattern of patterns) {
      expect(parseHostPattern(pattern), pattern).toBeDefined()
      for (const [, url] of HOST_CASES) {
        let parsed: URL
        try {
          parsed = new URL(url)
        } catch {
          continue
        }
        if (parsed.username !== '' || parsed.password !== '') continue
        let verdict: Verdict
        try {
          authorize({ hosts: [pattern] }, { method: 'GET', url: parsed })
          verdict = 'ok'
        } catch (err) {
          verdict = (err as KeyholeError).code as Verdict
        }
        const target = urlTarget(parsed)
        const routed = target !== undefined && matchHost(parseHostPattern(pattern)!, target) > 0
        if (verdict !== 'bad_target') expect(routed, `${pattern} ${url}`).toBe(verdict === 'ok')
      }
    }
  })

  it('agrees with core on random patterns and URLs', () => {
    const label = fc.constantFrom(
      'a',
      'api',
      'API',
      'example',
      'com',
      'b-c',
      'x_y',
      'bücher',
      'xn--bcher-kva',
      '127',
      '0',
      'ｅ',
    )
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'))
    const port = fc.constantFrom('', ':443', ':80', ':8443', ':8080')
    const scheme = fc.constantFrom('', 'http://', 'https://')
    // URLs are built around the pattern's own name often enough to reach the matching side.
    const cases = fc
      .tuple(
        scheme,
        fc.constantFrom('', '*.'),
        name,
        fc.constantFrom('', '.'),
        port,
        fc.constantFrom('https://', 'http://', 'HTTPS://'),
        fc.array(label, { maxLength: 2 }),
        fc.oneof(fc.constant(undefined), name),
        fc.boolean(),
        fc.constantFrom('', '.'),
        port,
        fc.constantFrom('/', '/x?y', ''),
      )
      .map(([ps, w, n, pdot, pp, us, prefix, other, upper, udot, up, rest]) => {
        const base = other ?? (upper ? n.toUpperCase() : n)
        const host = [...prefix, base].join('.')
        return [`${ps}${w}${n}${pdot}${pp}`, `${us}${host}${udot}${up}${rest}`] as const
      })
    let compared = 0
    let allowed = 0
    fc.assert(
      fc.property(cases, ([p, u]) => {
        let valid = true
        try {
          authorize({ hosts: [p] }, { method: 'GET', url: 'https://placeholder.invalid/' })
        } catch (err) {
          valid = (err as KeyholeError).code !== 'invalid_grant'
        }
        if (!valid) return
        compared++
        if (core(p, u) === 'ok') allowed++
        agrees(p, u)
      }),
      { numRuns: 5000 },
    )
    expect(compared).toBeGreaterThan(1000)
    expect(allowed).toBeGreaterThan(20)
  })
})
