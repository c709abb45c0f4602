// The public API of @keyhole/core. One line per export group; each area edits only its own section.

// errors and shared types
export { errorStatus, isKeyholeError, KeyholeError, type KeyholeErrorCode } from './errors.js'
export { type Duration, toSeconds } from './duration.js'
export type {
  Grant,
  InjectLocation,
  Injection,
  KeyCurve,
  KeyholePrivateJwk,
  KeyholeProtectedHeader,
  KeyholePublicJwk,
  OpenInfo,
  Policy,
  PublicJwks,
} from './types.js'

// keys and keyrings

// mint and open

// policy

// revocation
export type { RevocationFeed, RevocationStore } from './revocation/store.js'
export { assertJti, expiryMs, MAX_JTI_BYTES } from './revocation/jti.js'
export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './revocation/memory-store.js'

// proxy engine
