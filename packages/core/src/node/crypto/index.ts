// The node:crypto opener for keyhole's one JWE profile; re-exported by src/node.ts.
export type { ConcatKdfOptions } from './concat-kdf.js'
export type { CompactProtectedHeader, DecryptedCompact, DecryptionKey } from './decrypt-compact.js'
export { decryptCompact } from './decrypt-compact.js'
export { nodeDecrypt } from './node-decrypt.js'
export type { PreparedKey } from './prepare-key.js'
export { prepareKey } from './prepare-key.js'
