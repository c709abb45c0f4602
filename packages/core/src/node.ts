// @keyhole/core/node: Node-only fast paths that Node entry points plug into the engine.
// One section per area; each area edits only its own lines.

// proxy engine: the keep-alive node:http forwarder with the DNS-lookup address guard
export { createGuardedLookup, type Lookup } from './node/guarded-lookup.js'
export { nodeBody } from './node/incoming-response.js'
export { createNodeForwarder, type NodeForwarder, type NodeForwarderOptions } from './node/node-forwarder.js'
