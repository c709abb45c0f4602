import { createOpener, type Opener, type OpenerOptions } from '../open/opener.js'
import { nodeDecrypt } from './crypto/node-decrypt.js'
import { nodeVerify } from './crypto/node-verify.js'

/**
 * `createOpener` for Node entry points: the same opener, with `decrypt` defaulting to
 * {@link nodeDecrypt} and `verify` to {@link nodeVerify} (node:crypto, synchronous) instead of
 * jose's WebCrypto path. An uncached
 * open costs several times less CPU that way (`bench/results/fastcrypto.md`,
 * `bench/results/proxy.md`, row 3); every check the opener makes is unchanged, and `nodeDecrypt`
 * accepts only tokens jose accepts. Pass `decrypt` yourself to choose otherwise.
 *
 * @example
 * ```ts
 * import { createKeyring } from '@keyhole/core'
 * import { createNodeOpener } from '@keyhole/core/node'
 *
 * const opener = createNodeOpener({ keyring: createKeyring([key]) })
 * ```
 */
export function createNodeOpener(options: OpenerOptions): Opener {
  return createOpener({ decrypt: nodeDecrypt, verify: nodeVerify, ...options })
}
