import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CliError, EXIT_USAGE } from './cli-error.js'
import { parseCommand } from './parse.js'

const revokeSpec = {
  command: 'revoke',
  options: { url: { type: 'string' }, store: { type: 'string' }, exp: { type: 'string' } },
  positionals: ['jti'],
  dashPositionals: true,
} as const

function usage(run: () => unknown): CliError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).exitCode).toBe(EXIT_USAGE)
    return error as CliError
  }
  throw new Error('expected a usage error')
}

describe('parseCommand', () => {
  it('returns help for --help or -h anywhere before --', () => {
    expect(parseCommand(revokeSpec, ['x', '--bogus', '--help']).help).toBe(true)
    expect(parseCommand(revokeSpec, ['-h']).help).toBe(true)
    expect(parseCommand(revokeSpec, ['--', '--help']).help).toBe(false)
  })

  it('takes a jti that starts with a dash as the positional, wherever it stands', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^-[A-Za-z0-9_-]{1,30}$/), fc.boolean(), (jti, first) => {
        fc.pre(
          jti !== '--' &&
            jti !== '-h' &&
            !jti.startsWith('--url') &&
            !jti.startsWith('--store') &&
            !jti.startsWith('--exp'),
        )
        const argv = first ? [jti, '--url', 'http://x'] : ['--url', 'http://x', jti]
        const parsed = parseCommand(revokeSpec, argv)
        expect(parsed.help).toBe(false)
        if (!parsed.help) {
          expect(parsed.positionals).toEqual([jti])
          expect(parsed.values.url).toBe('http://x')
        }
      }),
    )
  })

  it('keeps a dash-leading option value as the value of its option', () => {
    const parsed = parseCommand(revokeSpec, ['abc', '--exp', '-5'])
    expect(parsed.help ? undefined : parsed.values.exp).toBe('-5')
  })

  it('never echoes stray arguments, which may be a shell-split secret', () => {
    fc.assert(
      fc.property(
        // The sk_ prefix keeps a generated secret from being a substring of the message itself.
        fc.string({ minLength: 8 }).map((s) => `sk_${s}`),
        (secret) => {
          const error = usage(() => parseCommand(revokeSpec, ['jti', 'Bearer', secret]))
          expect(error.message).toContain('2 unexpected arguments')
          expect(error.message).not.toContain(secret)
        },
      ),
    )
  })

  it('describes unknown options and missing values without quoting values', () => {
    const spec = { command: 'mint', options: { header: { type: 'string' } } } as const
    expect(usage(() => parseCommand(spec, ['--heder', 'x'])).message).toBe('unknown option --heder')
    expect(usage(() => parseCommand(spec, ['--bind_key', 'f'])).message).toBe(
      'unknown option --bind_key (options are written with dashes)',
    )
    // Long or odd "options" may be a secret typed in the wrong place: never quoted.
    const long = `--ghp_${'a'.repeat(36)}`
    expect(usage(() => parseCommand(spec, [long])).message).not.toContain(long.slice(2))
    expect(usage(() => parseCommand(spec, ['--a.b'])).message).toBe(
      'unknown option (not shown: it does not look like an option name)',
    )
    expect(usage(() => parseCommand(spec, ['--header'])).message).toBe('--header needs a value')
    expect(usage(() => parseCommand(spec, ['--header', '-sk-secret'])).message).not.toContain('sk-secret')
    expect(usage(() => parseCommand(revokeSpec, [])).message).toBe('missing <jti>')
  })
})
