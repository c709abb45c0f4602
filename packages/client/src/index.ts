// The public API of @keyhole/client. Zero dependencies; imports nothing from other keyhole packages.
export { type CreateFetchOptions, createFetch, type KeyholeFetch, TOKEN_HEADER } from './create-fetch.js'
export { createProof, PROOF_HEADER, type ProofRequest, proofUrl } from './create-proof.js'
export { KeyholeClientError, type KeyholeClientErrorCode } from './errors.js'
export { fromEnv } from './from-env.js'
export {
  ERROR_HEADER,
  isKeyholeError,
  type KeyholeErrorCode,
  type KeyholeErrorInfo,
  readKeyholeError,
} from './keyhole-error.js'
export {
  type GenerateProofKeyOptions,
  generateProofKey,
  jwkThumbprint,
  type ProofKey,
} from './proof-key.js'
export { proxiedBaseUrl } from './proxied-url.js'
export { readTokenHosts } from './read-token-hosts.js'
