import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { latin1 } from './scrub.fixture.js'
import { searchSet } from './search-set.js'
import { secretForms } from './secret-forms.js'
import { utf8 } from './utf8.js'

describe('searchSet', () => {
  it('keeps a secret that contains another secret, and drops duplicates', () => {
    const set = searchSet(['Bearer sk-test-123', 'sk-test-123', 'sk-test-123']).map(latin1)
    expect(set).toContain('sk-test-123')
    expect(set).toContain('Bearer sk-test-123')
    expect(new Set(set).size).toBe(set.length)
  })

  it('drops the whole base64 that contains its stable middle', () => {
    const set = searchSet(['abcd-secret']).map(latin1)
    expect(set).toContain('YWJjZC1zZWNyZX') // stable at alignment 0
    expect(set).not.toContain('YWJjZC1zZWNyZXQ=')
  })

  it('is empty for no secrets or only empty ones', () => {
    expect(searchSet([])).toEqual([])
    expect(searchSet(['', ''])).toEqual([])
  })

  it('is minimal per secret and still covers every form (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({
            unit: fc.constantFrom('a', 'b', 'c', '/', ' ', 'é', '+', '<', '='),
            minLength: 1,
            maxLength: 12,
          }),
          {
            maxLength: 5,
          },
        ),
        (secrets) => {
          const set = searchSet(secrets).map(latin1)
          expect(new Set(set).size).toBe(set.length)
          for (const secret of secrets) {
            const forms = secretForms(secret).map((form) => latin1(utf8(form)))
            const own = set.filter((pattern) => forms.includes(pattern))
            // minimal: no kept form of a secret contains another kept form of it
            const containing = own.filter((a, i) => own.some((b, j) => i !== j && a.includes(b)))
            expect(containing).toEqual([])
            // complete: every form of the secret contains one of its kept forms
            expect(forms.filter((form) => !own.some((pattern) => form.includes(pattern)))).toEqual([])
          }
          // nothing else: every pattern is a form of some secret
          const all = new Set(
            secrets.flatMap((secret) => secretForms(secret)).map((form) => latin1(utf8(form))),
          )
          expect(set.filter((pattern) => !all.has(pattern))).toEqual([])
        },
      ),
      { seed: 99, numRuns: 200 },
    )
  })
})
