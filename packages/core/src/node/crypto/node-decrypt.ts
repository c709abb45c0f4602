import type { KeyholePrivateJwk } from '../../types.js'
import { decryptCompact } from './decrypt-compact.js'

/**
 * {@link decryptCompact} in the shape of `createOpener`'s `decrypt` option: the token and the
 * keyring's private JWK for its `kid` in, the plaintext out. The opener still runs its own header,
 * claims, time and revocation checks; this replaces only jose's decryption.
 *
 * @example
 * ```ts
 * import { createOpener } from '@keyhole/core'
 * import { nodeDecrypt } from '@keyhole/core/node'
 *
 * const opener = createOpener({ keyring, decrypt: nodeDecrypt })
 * ```
 */
export function nodeDecrypt(token: string, key: KeyholePrivateJwk): Uint8Array {
  return decryptCompact(token, key).plaintext
}
