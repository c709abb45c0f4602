// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CliError } from './cli-error.js'
import { expandEnv } from './expand-env.js'

const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/)
const value = fc.string({ minLength: 1 })

describe('expandEnv', () => {
  it('leaves text without ${ alone', () => {
    fc.assert(
      fc.property(
        fc.string().filter((text) => !text.includes('${')),
        (text) => {
          expect(expandEnv(text, {}, 'x')).toBe(text)
        },
      ),
    )
  })

  it('replaces every ${NAME} with the variable, whatever the value holds', () => {
    fc.assert(
      fc.property(name, value, fc.string(), fc.string(), (key, secret, before, after) => {
        fc.pre(!before.includes('$') && !after.includes('$'))
        expect(expandEnv(`${before}\${${key}}${after}\${${key}}`, { [key]: secret }, 'x')).toBe(
          `${before}${secret}${after}${secret}`,
        )
      }),
    )
  })

  it('reads $${ as a literal ${', () => {
    expect(expandEnv('a$${B}c', { B: 'no' }, 'x')).toBe('a${B}c')
    expect(expandEnv('$$$${B}', { B: 'no' }, 'x')).toBe('$$${B}')
  })

  it('names a missing or empty variable, never showing any value', () => {
    fc.assert(
      fc.property(name, value, (key, secret) => {
        // The sk_ prefix keeps a generated value from being a substring of the message itself.
        const env = { OTHER: `sk_${secret}`, [`${key}_EMPTY`]: '' }
        for (const [text, expected] of [
          [`\${${key}}\${OTHER}`, `environment variable ${key} is not set`],
          [`\${OTHER}\${${key}_EMPTY}`, `environment variable ${key}_EMPTY is empty`],
        ] as const) {
          if (key === 'OTHER') continue
          let error: unknown
          try {
            expandEnv(text, env, '--header X')
          } catch (caught) {
            error = caught
          }
          expect(error).toBeInstanceOf(CliError)
          expect((error as CliError).message).toContain(expected)
          expect((error as CliError).message).not.toContain(`sk_${secret}`)
        }
      }),
    )
  })

  it('refuses ${} and names that are not variable names', () => {
    expect(() => expandEnv('${}', {}, 'x')).toThrow('must contain an environment variable name')
    expect(() => expandEnv('${A-B}', { 'A-B': 'v' }, 'x')).toThrow(
      'must contain an environment variable name',
    )
  })

  it('refuses a ${ that no } closes instead of minting the literal text', () => {
    for (const text of ['pre${GH', '${GH} and ${', 'a${b']) {
      expect(() => expandEnv(text, { GH: 'sk_value' }, 'x')).toThrow('is not closed by }')
    }
    // Written as $${ it is the literal text.
    expect(expandEnv('pre$${GH', { GH: 'sk_value' }, 'x')).toBe('pre${GH')
  })
})
