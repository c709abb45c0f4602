import {
  createKeyring,
  isKeyholeError,
  type KeyholeIssuerPrivateJwk,
  type Keyring,
  toPublicJwk,
} from '@keyhole/core'
import { CliError } from './cli-error.js'
import { readKeyFile, splitKeys } from './key-file.js'

/** A key file loaded: the keyring of its decryption keys and its issuer (signing) keys, oldest first. */
export interface LoadedKeys {
  readonly keyring: Keyring
  readonly issuers: readonly KeyholeIssuerPrivateJwk[]
}

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
  return (await loadKeys(path, shown, warn)).keyring
}

/**
 * {@link loadKeyring}, also returning the file's issuer keys (checked: each must have the public
 * half and `kid` of a valid issuer key). A file without issuer keys (written before they existed)
 * loads with none.
 *
 * @example
 * ```ts
 * const { keyring, issuers } = await loadKeys('/srv/keys.json', 'keys.json')
 * const signWith = issuers.at(-1)
 * ```
 */
export async function loadKeys(
  path: string,
  shown: string,
  warn?: (line: string) => void,
): Promise<LoadedKeys> {
  const { enc, sig } = splitKeys(await readKeyFile(path, { shown, ...(warn ? { warn } : {}) }))
  if (enc.length === 0)
    throw new CliError(
      `key file ${shown} holds no decryption key; run \`keyhole keygen --add --out ${shown}\``,
    )
  try {
    const keyring = createKeyring(enc)
    await Promise.all(keyring.kids().map((kid) => keyring.cryptoKey(kid)))
    for (const key of sig) toPublicJwk(key)
    return { keyring, issuers: sig }
  } catch (error) {
    if (isKeyholeError(error))
      throw new CliError(`key file ${shown}: ${error.message}`, undefined, { cause: error })
    throw error
  }
}
