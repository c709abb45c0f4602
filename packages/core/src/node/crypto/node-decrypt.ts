import { CheckedHeader } from '../../open/parse-header.js'
import type { KeyholePrivateJwk } from '../../types.js'
import { decryptCompact, decryptParsed } from './decrypt-compact.js'

/**
 * {@link decryptCompact} in the shape of `createOpener`'s `decrypt` option: the token and the
 * keyring's private JWK for its `kid` in, the plaintext out. The opener still runs its own header,
 * claims, time and revocation checks; this replaces only jose's decryption.
 *
 * The opener also passes the header it has just parsed and checked; when that is `checkHeader`'s
 * result for this very token, the header is not decoded and parsed a second time (every check on
 * its contents still runs). Anything else in that place is ignored and the token parsed afresh.
 *
 * @example
 * ```ts
 * import { createOpener } from '@keyhole/core'
 * import { nodeDecrypt } from '@keyhole/core/node'
 *
 * const opener = createOpener({ keyring, decrypt: nodeDecrypt })
 * ```
 */
export function nodeDecrypt(token: string, key: KeyholePrivateJwk, checked?: unknown): Uint8Array {
  // checkHeader tested every segment's alphabet: decryptParsed need not scan them again.
  if (CheckedHeader.isFor(checked, token)) return decryptParsed(token, checked.header, key, true).plaintext
  return decryptCompact(token, key).plaintext
}
