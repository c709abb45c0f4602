// The public API of @keyhole/core: a flat barrel, kept in the order Biome sorts it.

export {
  ADMIN_PATHS,
  type AdminAction,
  type AdminContext,
  type AdminHandler,
  type AdminHandlers,
  type AdminHandlersOptions,
  createAdminHandlers,
} from './admin/admin-handlers.js'
export {
  assertAdminToken,
  createAdminCheck,
  MIN_ADMIN_TOKEN_BYTES,
  refuseAdmin,
} from './admin/admin-token.js'
export {
  createFailureLimiter,
  type FailureLimiter,
  type FailureLimiterOptions,
} from './admin/failure-limiter.js'
export type { PublicKeySource } from './admin/public-keys.js'
export {
  ATTENUATION_CTY,
  type AttenuateOptions,
  attenuate,
  type Restriction,
} from './attenuate.js'
export { type Duration, toSeconds } from './duration.js'
export { errorStatus, isKeyholeError, KeyholeError, type KeyholeErrorCode } from './errors.js'
export { clearJwksCache, type FetchJwksOptions, fetchJwks } from './fetch-jwks.js'
// Credential injectors: the plug-in contract, the built-in ones and their registry.
export { basicAuthorization, basicInjector } from './inject/basic.js'
export { bodyInjector } from './inject/body.js'
export { cookieInjector } from './inject/cookie.js'
export { headerInjector, headerValueSecrets } from './inject/header.js'
export { hmacInjector } from './inject/hmac.js'
export { copyInjection, injectionType, normalizeInjection } from './inject/injection-type.js'
export type {
  AppliedSecrets,
  InjectContext,
  InjectEntry,
  Injector,
  OutgoingRequest,
} from './inject/injector.js'
export { parseJsonPointer } from './inject/json-pointer.js'
export {
  createOAuth2Injector,
  MAX_TOKEN_RESPONSE_BYTES,
  type OAuth2Injector,
  type OAuth2InjectorOptions,
  oauth2Injector,
} from './inject/oauth2.js'
export { queryInjector } from './inject/query.js'
export { builtinInjectors, createInjectorRegistry, type InjectorRegistry } from './inject/registry.js'
export { spliceForm } from './inject/splice-form.js'
export { spliceJson } from './inject/splice-json.js'
export { spliceQuery } from './inject/splice-query.js'
export { assertValidInjections } from './inject/validate-injections.js'
export { bindingThumbprint } from './keys/bind-key.js'
export { type ExportKeyOptions, exportKey } from './keys/export-key.js'
export { type GenerateKeyOptions, generateKey } from './keys/generate-key.js'
export { type ImportKeyOptions, importKey, type KeyInput } from './keys/import-key.js'
export { toPublicJwk } from './keys/jwk.js'
export { createKeyring, type Keyring } from './keys/keyring.js'
export { GRANT_TYP, type MintedToken, type MintGrant, type MintOptions, mint, mintDetailed } from './mint.js'
export type { InvalidTokenReason } from './open/invalid-token.js'
export type { IssuerKey, IssuerKeys, IssuerOption, TrustedIssuer } from './open/issuers.js'
export {
  createOpener,
  DEFAULT_MAX_TOKEN_BYTES,
  type Opener,
  type OpenerOptions,
  type OpenerStats,
} from './open/opener.js'
export type { GrantVerifier } from './open/verify-grant.js'
export { authorize, type CompiledPolicy, compilePolicy, FORBIDDEN_METHODS } from './policy/authorize.js'
export {
  CLIENT_ADDRESS_HEADERS,
  FORBIDDEN_INJECT_HEADER_NAMES,
  FORBIDDEN_INJECT_HEADER_PREFIXES,
  HOP_BY_HOP_HEADERS,
  isForbiddenInjectHeader,
  isHopByHopHeader,
  RANGE_HEADERS,
  REROUTING_HEADERS,
} from './policy/header-rules.js'
export { hostRuleCovers } from './policy/host-cover.js'
export { type HostRule, type HostTarget, matchHost, parseHostPattern } from './policy/host-pattern.js'
export { methodOverrideInBody, methodOverrideInQuery } from './policy/method-override.js'
export { matchPath, normalizeTargetPath, type PathRule, parsePathPattern } from './policy/path-pattern.js'
export { parseTarget, type Target } from './policy/target.js'
export { assertValidPolicy, type PolicyWithInjections } from './policy/validate-policy.js'
export {
  createMemoryReplayCache,
  type MemoryReplayCache,
  type MemoryReplayCacheOptions,
  type ReplayCache,
} from './proof/replay-cache.js'
export {
  PROOF_CHALLENGE,
  PROOF_HEADER,
  type ProofCheck,
  proofTargetUrl,
  verifyProof,
} from './proof/verify-proof.js'
export {
  checkTargetAddress,
  isLocalHostname,
  isPrivateAddress,
  type PrivateAddressPermit,
} from './proxy/address-guard.js'
export { type AddressRanges, parseAddressRanges } from './proxy/address-ranges.js'
export {
  type AuthorizedRequest,
  createRequestAuthorizer,
  type RequestAuthorizerOptions,
} from './proxy/authorize-request.js'
export {
  type AdmissionOptions,
  createProxy,
  type ProxyContext,
  type ProxyHandler,
  type ProxyOpener,
  type ProxyOptions,
} from './proxy/create-proxy.js'
export { errorResponse, publicMessage } from './proxy/error-response.js'
export {
  errorType,
  methodLabel,
  OTHER_HOST,
  scrubbedCount,
  targetAuthorized,
  targetHostLabel,
  uncachedOpen,
} from './proxy/event-labels.js'
export type { ProxyEvent, ProxyEventListener, ProxyTimings } from './proxy/events.js'
export {
  createFetchForwarder,
  type FetchForwarderOptions,
  type Forwarder,
  type ForwarderCapabilities,
  type ForwardInit,
  type ForwardTarget,
} from './proxy/forward-fetch.js'
export { injectCredentials } from './proxy/inject-credentials.js'
export { readToken, TOKEN_HEADER } from './proxy/read-token.js'
export { compileGatewayTarget, type RawTarget, type TargetResolver } from './proxy/resolve-target.js'
export { sanitizeHeaders } from './proxy/sanitize-headers.js'
export {
  type CachingStore,
  type CachingStoreOptions,
  createCachingStore,
} from './revocation/caching-store.js'
export {
  ISSUER_REVOCATION_SECONDS,
  isIssuerKid,
  issuerRevocationId,
} from './revocation/issuer-revocation.js'
export { assertJti, expiryMs, MAX_JTI_BYTES } from './revocation/jti.js'
export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './revocation/memory-store.js'
export type { RevocationFeed, RevocationStore } from './revocation/store.js'
// Response scrubbing: every form of a grant's secrets masked in response headers and bodies.
export { compileScrubber, type Scrubber } from './scrub/compile-scrubber.js'
export { type ContentDecoders, decodeForScrubbing } from './scrub/decode-for-scrubbing.js'
export type { ScrubStream } from './scrub/scrub-stream.js'
export { MIN_DERIVED_FORM_BYTES, secretForms } from './scrub/secret-forms.js'
export type {
  BasicInjection,
  BodyInjection,
  CookieInjection,
  Grant,
  HeaderInjection,
  HmacInjection,
  Injection,
  InjectLocation,
  IssuerAlg,
  KeyCurve,
  KeyholeIssuerPrivateJwk,
  KeyholeIssuerPublicJwk,
  KeyholePrivateJwk,
  KeyholeProtectedHeader,
  KeyholePublicJwk,
  LayerPolicy,
  LocatedInjection,
  OAuth2Injection,
  OpenInfo,
  PluginInjection,
  Policy,
  PublicJwks,
  QueryInjection,
} from './types.js'
