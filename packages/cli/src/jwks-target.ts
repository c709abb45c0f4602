import { resolve } from 'node:path'
import type { PublicJwks } from '@keyhole/core'
import { CliError, usageError } from './cli-error.js'
import { readJsonFile } from './read-json-file.js'

/**
 * The recipient of `--jwks <file|url>`: an http(s) URL as given (core fetches it and names only
 * its origin in errors), or the public key set read from a file. A file holding private keys is
 * refused: tokens are encrypted to the public JWKS, and the private set belongs on the proxy.
 *
 * @example
 * ```ts
 * const to = await jwksTarget('jwks.json', io.cwd, 'mint')
 * ```
 */
export async function jwksTarget(source: string, cwd: string, command: string): Promise<string | PublicJwks> {
  if (/^https?:\/\//i.test(source)) return source
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) throw usageError('--jwks must be a file or an http(s) URL')
  const json = await readJsonFile(
    resolve(cwd, source),
    'JWKS file',
    'write one with `keyhole jwks --keys keys.json > jwks.json`, or pass the proxy URL',
  )
  const keys = (json as { keys?: unknown } | null)?.keys
  if (Array.isArray(keys)) {
    if (keys.some((key) => typeof key === 'object' && key !== null && 'd' in key))
      throw new CliError(
        `${source} holds private keys; ${command} needs only the public JWKS: keyhole jwks --keys ${source} > jwks.json`,
      )
    return json as PublicJwks
  }
  throw new CliError(`JWKS file ${source} must hold a key set: {"keys": [ ...public keys... ]}`)
}
