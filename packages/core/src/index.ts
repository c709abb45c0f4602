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
export { type ExportKeyOptions, exportKey } from './keys/export-key.js'
export { type GenerateKeyOptions, generateKey } from './keys/generate-key.js'
export { type ImportKeyOptions, importKey, type KeyInput } from './keys/import-key.js'
export { toPublicJwk } from './keys/jwk.js'
export { createKeyring, type Keyring } from './keys/keyring.js'

// mint and open
export { clearJwksCache, type FetchJwksOptions, fetchJwks } from './fetch-jwks.js'
export { type MintGrant, type MintOptions, mint } from './mint.js'
export { createOpener, type Opener, type OpenerOptions, type OpenerStats } from './open/opener.js'

// policy
export { authorize, type CompiledPolicy, compilePolicy, FORBIDDEN_METHODS } from './policy/authorize.js'
export {
  FORBIDDEN_INJECT_HEADER_NAMES,
  FORBIDDEN_INJECT_HEADER_PREFIXES,
  HOP_BY_HOP_HEADERS,
  isForbiddenInjectHeader,
  isHopByHopHeader,
} from './policy/header-rules.js'
export { type HostRule, type HostTarget, matchHost, parseHostPattern } from './policy/host-pattern.js'
export { matchPath, normalizeTargetPath, type PathRule, parsePathPattern } from './policy/path-pattern.js'
export { parseTarget, type Target } from './policy/target.js'
export { assertValidPolicy, type PolicyWithInjections } from './policy/validate-policy.js'

// revocation
export type { RevocationFeed, RevocationStore } from './revocation/store.js'
export { assertJti, expiryMs, MAX_JTI_BYTES } from './revocation/jti.js'
export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './revocation/memory-store.js'
export { type CachingStore, type CachingStoreOptions, createCachingStore } from './revocation/caching-store.js'

// proxy engine
