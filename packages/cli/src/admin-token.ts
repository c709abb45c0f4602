import { usageError } from './cli-error.js'

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Reads the admin token from the environment variable named by `--admin-token-env`. The token is
 * never taken from argv, where `ps` and shell history would show it.
 *
 * @example
 * ```ts
 * const adminToken = adminTokenFromEnv('KEYHOLE_ADMIN_TOKEN', process.env)
 * ```
 */
export function adminTokenFromEnv(name: string, env: Readonly<Record<string, string | undefined>>): string {
  if (!ENV_NAME.test(name))
    throw usageError(
      '--admin-token-env takes the NAME of an environment variable (e.g. KEYHOLE_ADMIN_TOKEN), not the token',
    )
  const value = env[name]
  if (value === undefined) throw usageError(`--admin-token-env: environment variable ${name} is not set`)
  if (value.trim() === '') throw usageError(`--admin-token-env: environment variable ${name} is empty`)
  return value
}
