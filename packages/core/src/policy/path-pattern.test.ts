import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KeyholeError } from '../errors.js'
import { authorize } from './authorize.js'
import { matchPath, normalizeTargetPath, parsePathPattern } from './path-pattern.js'

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(KeyholeError)
    return (err as KeyholeError).code
  }
  return 'ok'
}

const grant = { hosts: ['api.example.com'], paths: ['/repos/acme/**'] }
const rule = parsePathPattern('/repos/acme/**')

/** What the matchers say about a path: its normalized form matches the rule, or not. */
function matches(path: string): boolean {
  const normalized = normalizeTargetPath(path)
  return normalized !== undefined && matchPath(rule, normalized)
}

// Each of these becomes `..` followed by a separator, a NUL or nothing once decoded once or more;
// an upstream or a framework that decodes a second time would climb out of /repos/acme/.
const CLIMBS = [
  '/repos/acme/%252e%252e/other',
  '/repos/acme/%25%32%65%25%32%65/other',
  '/repos/acme/%25%32%65./other',
  '/repos/acme/app%252f..%252f..%252fother',
  '/repos/acme/..%252fother',
  '/repos/acme/..%25%30%30/other',
  '/repos/acme/%25%30%30',
  '/repos/acme/..%3F/other',
  '/repos/acme/%2e%2e%3f/other',
  '/repos/acme/..%23/other',
  '/repos/acme/..%253F/other',
  '/repos/acme/..%2523/other',
  '/repos/acme/%25252e%25252e/other',
  '/repos/acme/%2525252e%2525252e/other',
  '/repos/acme/app%255c..%255cother',
  '/repos/acme/..%09/other',
  '/repos/acme/a%0Ab',
  '/repos/acme/a%7Fb',
  '/repos/acme/a%C2%85b',
  '/repos/acme/%25c0%25ae%25c0%25ae/other',
]

describe('restricted paths, decoded repeatedly', () => {
  it.each(CLIMBS)('refuses %s through authorize and the matchers', (path) => {
    expect(code(() => authorize(grant, { method: 'GET', url: `https://api.example.com${path}` }))).toBe(
      'path_not_allowed',
    )
    expect(normalizeTargetPath(path)).toBeUndefined()
    expect(matches(path)).toBe(false)
  })

  it('refuses raw ?, # and control characters in a path handed over directly', () => {
    for (const path of ['/repos/acme/..?/x', '/repos/acme/..#', '/repos/acme/a\tb', '/repos/acme/a\u0085b']) {
      expect(normalizeTargetPath(path), JSON.stringify(path)).toBeUndefined()
    }
  })

  it('keeps legitimate paths working', () => {
    for (const [url, path] of [
      ['https://api.example.com/repos/acme/app/issues?state=open', '/repos/acme/app/issues'],
      ['https://api.example.com/repos/acme/my%20file.txt', '/repos/acme/my%20file.txt'],
      ['https://api.example.com/repos/acme/%40scope/pkg', '/repos/acme/%40scope/pkg'],
      ['https://api.example.com/repos/acme/caf%C3%A9', '/repos/acme/caf%C3%A9'],
      ['https://api.example.com/repos/acme/100%25', '/repos/acme/100%25'],
      ['https://api.example.com/repos/acme/a%25zz', '/repos/acme/a%25zz'],
      ['https://api.example.com/repos/acme/...', '/repos/acme/...'],
      ['https://api.example.com/repos/acme/.github/%2Ex', '/repos/acme/.github/%2Ex'],
    ] as const) {
      expect(authorize(grant, { method: 'GET', url }).path).toBe(path)
      expect(matches(path), path).toBe(true)
    }
    expect(normalizeTargetPath('/repos/acme/my%20file')).toBe('/repos/acme/my%20file')
    expect(normalizeTargetPath('/repos/%61cme/%7e')).toBe('/repos/acme/~')
  })

  it('refuses patterns that no target could match', () => {
    for (const pattern of ['/a/..%3F', '/a/%23', '/a/%252e%252e', '/a/%25%32%66', '/a/%0a']) {
      expect(
        code(() => parsePathPattern(pattern)),
        pattern,
      ).toBe('invalid_grant')
    }
    expect(parsePathPattern('/a/%20b')).toEqual(['a', '%20b'])
  })
})

/** Decodes percent-escapes until none is left, taking a `%` without two hex digits literally. */
function decodeFully(path: string): string {
  let out = path
  while (/%[0-9A-Fa-f]{2}/.test(out)) out = decodeURIComponent(out.replace(/%(?![0-9A-Fa-f]{2})/g, '%25'))
  return out
}

/** RFC 3986 dot-segment removal, also treating `..;x` as `..` the way Tomcat does. */
function resolveDots(path: string): string {
  const out: string[] = []
  const segments = path.slice(1).split('/')
  for (let i = 0; i < segments.length; i++) {
    const name = segments[i]!.split(';')[0]
    const last = i === segments.length - 1
    if (name === '..') {
      out.pop()
      if (last) out.push('')
    } else if (name === '.') {
      if (last) out.push('')
    } else {
      out.push(segments[i]!)
    }
  }
  return `/${out.join('/')}`
}

describe('path property', () => {
  it('a path accepted for /a/** never decodes, however often, to something outside /a/', () => {
    const piece = fc.constantFrom(
      'a',
      'b',
      '.',
      '..',
      '/',
      '%',
      '%2e',
      '%2E',
      '%2f',
      '%25',
      '%32',
      '%65',
      '%66',
      '%46',
      '%252e',
      '%252f',
      '%3f',
      '%23',
      '%3b',
      ';',
      '%5c',
      '%00',
      '%30',
      '%20',
      '%40',
      '%c0',
      '%ae',
    )
    const path = fc.array(piece, { maxLength: 10 }).map((pieces) => `/a/${pieces.join('')}`)
    let accepted = 0
    fc.assert(
      fc.property(path, (raw) => {
        let target: ReturnType<typeof authorize>
        try {
          target = authorize(
            { hosts: ['x.example'], paths: ['/a/**'] },
            { method: 'GET', url: `https://x.example${raw}` },
          )
        } catch (err) {
          expect(err).toBeInstanceOf(KeyholeError)
          return
        }
        accepted++
        // Decoding must not throw either: invalid UTF-8 at any depth is refused.
        const decoded = decodeFully(target.path)
        expect(decoded).not.toMatch(/[\x00-\x1f\x7f-\x9f\\?#]/)
        expect(resolveDots(decoded).startsWith('/a/')).toBe(true)
        // Each decoded segment is one the raw path had: no separator was hidden in an escape.
        expect(decoded.split('/').length).toBe(target.path.split('/').length)
      }),
      { seed: 20_260_101, numRuns: 3000 },
    )
    // The generator must reach the accepted side too, or the property proves nothing.
    expect(accepted).toBeGreaterThan(200)
  })
})
