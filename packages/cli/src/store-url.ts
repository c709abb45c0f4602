import { usageError } from './cli-error.js'

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Reads a revocation store URL from the environment variable named by `--store-env`, so a
 * password in it never appears in argv (which other users can see with `ps`).
 *
 * @example
 * ```ts
 * const url = storeUrlFromEnv('KEYHOLE_STORE_URL', process.env)
 * ```
 */
export function storeUrlFromEnv(name: string, env: Readonly<Record<string, string | undefined>>): string {
  if (!ENV_NAME.test(name))
    throw usageError(
      '--store-env takes the NAME of an environment variable (e.g. KEYHOLE_STORE_URL), not the URL',
    )
  const value = env[name]
  if (value === undefined || value.trim() === '')
    throw usageError(
      `--store-env: environment variable ${name} is ${value === undefined ? 'not set' : 'empty'}`,
    )
  return value.trim()
}

/** The warning `--store <url>` prints: the URL may hold a password, and argv is visible to other users. */
export const STORE_ARGV_WARNING =
  'warning: --store puts the store URL, and any password in it, in the command line, which other users of this machine can see (ps); use --store-env VAR instead\n'
