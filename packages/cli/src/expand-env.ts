import { usageError } from './cli-error.js'

// The last alternative is a `${` that no `}` closes: a typo that would mint the literal text.
const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Expands `${VAR}` references in a value from keyhole's own environment, so a secret can reach a
 * token without appearing in argv or shell history (single-quote the value so the shell leaves it
 * alone). `$${` stands for a literal `${`; a `${` that no `}` closes is an error. A `$` not followed by `{` is kept as it is.
 *
 * An unset variable is an error that names the variable (never a value). An empty variable is
 * also an error, because an empty credential is almost always a mistake.
 *
 * @example
 * ```ts
 * expandEnv('Bearer ${GITHUB_TOKEN}', process.env, '--header Authorization') // 'Bearer ghp_...'
 * ```
 */
export function expandEnv(
  value: string,
  env: Readonly<Record<string, string | undefined>>,
  where: string,
): string {
  return value.replace(REFERENCE, (match, name: string | undefined) => {
    if (match === '$${') return '${'
    if (match === '${') throw usageError(`${where}: \${ is not closed by }; write $\${ for a literal \${`)
    if (name === undefined || !NAME.test(name))
      throw usageError(`${where}: \${...} must contain an environment variable name such as \${API_KEY}`)
    const found = env[name]
    if (found === undefined) throw usageError(`${where}: environment variable ${name} is not set`)
    if (found === '') throw usageError(`${where}: environment variable ${name} is empty`)
    return found
  })
}
