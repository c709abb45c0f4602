// @keyhole/core/node: Node-only fast paths that Node entry points plug into the engine.
// One section per area; each area edits only its own lines.

// forward-proxy mode, its certificate authority (node/ca/): a P-256 CA that issues the per-host
// leaf certificates CONNECT interception presents (cached, valid at most 24 h)
export {
  type CertificateAuthority,
  type CertificateAuthorityJson,
  type CertificateAuthorityOptions,
  type CreateCertificateAuthorityOptions,
  createCertificateAuthority,
  loadCertificateAuthority,
} from './node/ca/index.js'
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
export {
  createDecryptPool,
  type DecryptPool,
  type DecryptPoolOptions,
  type DecryptPoolStats,
} from './node/decrypt-pool.js'
// forward-proxy mode (node/forward-proxy/): absolute-form requests and CONNECT with TLS
// interception, run through the engine; the token comes from Proxy-Authorization only
export {
  attachForwardProxy,
  chooseToken,
  createForwardProxy,
  type ForwardProxy,
  type ForwardProxyOptions,
  readProxyTokens,
} from './node/forward-proxy/index.js'
// proxy engine: the keep-alive node:http forwarder with the DNS-lookup address guard
export { createGuardedLookup, type Lookup } from './node/guarded-lookup.js'
export { nodeBody } from './node/incoming-response.js'
export { createNodeForwarder, type NodeForwarder, type NodeForwarderOptions } from './node/node-forwarder.js'
export { createNodeOpener } from './node/node-opener.js'
// WebSocket upgrades (node/websocket/): an http.Server 'upgrade' listener that runs the engine's
// stages, dials with the address guard and scrubs the upstream's frames
export {
  createFrameScrubber,
  createUpgradeHandler,
  DEFAULT_MAX_FRAME_BYTES,
  type UpgradeContext,
  type UpgradeHandler,
  type UpgradeHandlerOptions,
} from './node/websocket/index.js'
// the node:http bridge for adapters: a Node request as the engine's Request (raw headers read in
// one pass, the body piped by the node forwarder) and a cheap "client went away" signal. These
// take Node objects by shape and import nothing from Node themselves.
export { type ClosableResponse, closeSignal, toAbortSignal } from './proxy/close-signal.js'
export { type IncomingMessageLike, requestFromIncoming } from './proxy/incoming-request.js'
export { type KnownBody, takeKnownBody } from './proxy/known-body.js'
export { headersFromRaw } from './proxy/raw-headers.js'
