// @keyhole/core/node: Node-only fast paths that Node entry points plug into the engine.
// One section per area; each area edits only its own lines.

// node:crypto decryption (node/crypto/): the opener's `decrypt` option on Node, and an opener
// that uses it by default
export {
  type CompactProtectedHeader,
  type DecryptedCompact,
  type DecryptionKey,
  decryptCompact,
  nodeDecrypt,
  type PreparedKey,
  prepareKey,
} from './node/crypto/index.js'
// (node:crypto decryption, continued)
export { nodeVerify } from './node/crypto/node-verify.js'
// decryption off the event loop: a worker-thread pool for the opener's `decrypt` option
export { createDecryptPool, type DecryptPool, type DecryptPoolOptions } from './node/decrypt-pool.js'
// proxy engine: the keep-alive node:http forwarder with the DNS-lookup address guard
export { createGuardedLookup, type Lookup } from './node/guarded-lookup.js'
export { nodeBody } from './node/incoming-response.js'
export { createNodeForwarder, type NodeForwarder, type NodeForwarderOptions } from './node/node-forwarder.js'
export { createNodeOpener } from './node/node-opener.js'
