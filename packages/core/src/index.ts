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
export {
  type AuthorizedRequest,
  createRequestAuthorizer,
  type IncomingRequestParts,
  type RequestAuthorizerOptions,
} from './proxy/authorize-request.js'
export { checkTargetAddress, isLocalHostname, isPrivateAddress } from './proxy/address-guard.js'
export {
  createProxy,
  type ProxyContext,
  type ProxyHandler,
  type ProxyOpener,
  type ProxyOptions,
} from './proxy/create-proxy.js'
export { errorResponse } from './proxy/error-response.js'
export type { ProxyEvent, ProxyEventListener, ProxyTimings } from './proxy/events.js'
export {
  createFetchForwarder,
  type FetchForwarderOptions,
  type ForwardInit,
  type Forwarder,
  type ForwardTarget,
} from './proxy/forward-fetch.js'
export { injectCredentials } from './proxy/inject-credentials.js'
export { readToken, TOKEN_HEADER } from './proxy/read-token.js'
export { sanitizeHeaders } from './proxy/sanitize-headers.js'

// adapters: what keyholeAuth in @keyhole/hono and @keyhole/express reuses from the engine
export { publicMessage } from './proxy/error-response.js'
export { compileGatewayTarget, type RawTarget, type TargetResolver } from './proxy/resolve-target.js'
