import { MIN_ADMIN_TOKEN_BYTES } from '@keyhole/core'
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
  // A name as long as an admin token may be the token itself, pasted where its variable's name goes.
  const shown = name.length < MIN_ADMIN_TOKEN_BYTES ? name : '(not shown: as long as an admin token)'
  if (value === undefined)
    throw usageError(
      `--admin-token-env: environment variable ${shown} is not set; the flag takes the variable's NAME, not the token`,
    )
  if (value.trim() === '') throw usageError(`--admin-token-env: environment variable ${shown} is empty`)
  return value
}

/**
 * {@link adminTokenFromEnv} for the proxy itself: the token must also be at least 32 bytes, or
 * `keyhole serve` refuses to start, saying how to make one. The message never repeats the token.
 *
 * @example
 * ```ts
 * const adminToken = serverAdminToken('KEYHOLE_ADMIN_TOKEN', process.env)
 * ```
 */
export function serverAdminToken(name: string, env: Readonly<Record<string, string | undefined>>): string {
  const value = adminTokenFromEnv(name, env)
  if (new TextEncoder().encode(value).length < MIN_ADMIN_TOKEN_BYTES)
    throw usageError(
      `--admin-token-env: the admin token in ${name} is shorter than ${MIN_ADMIN_TOKEN_BYTES} bytes; make one with: export ${name}="$(openssl rand -base64 32)"`,
    )
  return value
}
