import { createKeyring, isKeyholeError, type Keyring } from '@keyhole/core'
import { CliError } from './cli-error.js'
import { readKeyFile } from './key-file.js'

/**
 * Reads a private key set and builds a keyring from it. Every key is imported before the keyring
 * is returned, so a damaged key fails here (naming the file) rather than on the first request,
 * and a reload on SIGHUP can keep the old keys instead.
 *
 * @example
 * ```ts
 * const keyring = await loadKeyring('/srv/keys.json', 'keys.json')
 * ```
 */
export async function loadKeyring(
  path: string,
  shown: string,
  warn?: (line: string) => void,
): Promise<Keyring> {
  const keys = await readKeyFile(path, { shown, ...(warn ? { warn } : {}) })
  try {
    const keyring = createKeyring(keys)
    await Promise.all(keyring.kids().map((kid) => keyring.cryptoKey(kid)))
    return keyring
  } catch (error) {
    if (isKeyholeError(error))
      throw new CliError(`key file ${shown}: ${error.message}`, undefined, { cause: error })
    throw error
  }
}
