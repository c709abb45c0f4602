import { compactDecrypt } from 'jose'
import { ATTENUATION_CTY } from '../attenuate.js'
import { type Duration, toSeconds } from '../duration.js'
import { isKeyholeError, KeyholeError } from '../errors.js'
import type { FetchJwksOptions } from '../fetch-jwks.js'
import { injectionType } from '../inject/injection-type.js'
import type { InjectEntry, Injector } from '../inject/injector.js'
import { builtinInjectors, createInjectorRegistry, type InjectorRegistry } from '../inject/registry.js'
import type { Keyring } from '../keys/keyring.js'
import { compilePolicy } from '../policy/authorize.js'
import { hostRuleCovers } from '../policy/host-cover.js'
import type { HostRule } from '../policy/host-pattern.js'
import { scopeCoversUrl } from '../policy/scope-covers-url.js'
import { answerNow } from '../revocation/answer-now.js'
import { issuerRevocationId } from '../revocation/issuer-revocation.js'
import { createMemoryStore } from '../revocation/memory-store.js'
import type { RevocationStore } from '../revocation/store.js'
import type { Grant, KeyholePrivateJwk, LayerPolicy, OpenInfo } from '../types.js'
import { createGrantCache } from './grant-cache.js'
import { invalidToken } from './invalid-token.js'
import { createIssuerSet, type IssuerKey, type IssuerOption, type IssuerSet } from './issuers.js'
import { type CheckedHeader, checkHeader } from './parse-header.js'
import { checkTime, createPolicyTemplates, validateClaims } from './validate-claims.js'
import { validateLayer } from './validate-layer.js'
import { type GrantVerifier, verifyGrant } from './verify-grant.js'

/** Options of {@link createOpener}. */
export interface OpenerOptions {
  /** The private keys tokens are opened with. Retiring a key also drops its cached grants. */
  keyring: Keyring
  /**
   * The issuers whose signed grants this opener honours: public issuer keys (`toPublicJwk(issuer)`),
   * JWK sets, keyring-like objects with `publicJwks()`, JWKS URLs (HTTPS unless on loopback;
   * refetched for an unknown `kid` at most once per 30 s), each optionally as
   * `{ keys, hosts: ['*.github.com'] }` to limit what that issuer may grant. A grant not signed
   * by one of them is `invalid_token`. Default: none, so only `acceptUnsigned` tokens could open.
   */
  issuers?: readonly IssuerOption[]
  /**
   * Also opens unsigned grants (the old token form). Anyone who can read the public JWKS can
   * mint one, so a proxy refuses to start with this unless it also bounds egress with
   * `allowHosts`, and an unsigned grant never reaches a private address by naming it.
   * Default `false`.
   */
  acceptUnsigned?: boolean
  /**
   * More credential types (plug-ins implementing `Injector`, e.g. `awsSigV4Injector` from
   * `@keyhole/aws`) beside the built-in ones. A token naming a type the opener does not know is
   * `invalid_token`. The engine applies credentials with the same registry.
   */
  injectors?: readonly Injector<never>[]
  /** How issuer JWKS URLs are fetched (timeout, cache TTL, fetch). */
  issuerJwks?: FetchJwksOptions
  /**
   * Replaces jose's WebCrypto signature check of signed grants, for a faster native one such as
   * `nodeVerify` from `@keyhole/core/node` (which `createNodeOpener` uses). Called after the JWS
   * header was checked and the issuer key found; must return true only for a valid signature by
   * that key with its algorithm. Default: jose.
   */
  verify?: GrantVerifier
  /** Where revoked `jti`s live. Default: a new in-memory store (`createMemoryStore()`). */
  revocations?: RevocationStore
  /** Longest accepted token lifetime (`exp - iat`). Default `'24h'`. */
  maxTtl?: Duration
  /** Slack for clock differences when checking `exp`, `nbf` and `iat`. Default `'30s'`. */
  clockTolerance?: Duration
  /** When set, a token's `aud` must name one of these. Default: any or no audience. */
  audience?: string | readonly string[]
  /** When set, a token's `iss` must be one of these. Default: any or no issuer. */
  issuer?: string | readonly string[]
  /**
   * Longest accepted token, in bytes, checked before anything is parsed. Default `8192`: a
   * token with a handful of hosts, paths and credentials is 1–2 KiB, and 8 KiB is the header
   * size most servers accept, so nothing legitimate is refused while a flood of huge tokens
   * never reaches the JSON parser or the decryption.
   */
  maxTokenBytes?: number
  /** Most grants the verified-grant cache holds. Default `10_000`; `0` turns the cache off. */
  cacheSize?: number
  /**
   * When the revocation store fails or is slower than `revocationTimeout`, accept the token
   * instead of failing with `revocation_unavailable`. Default `false` (fail closed).
   */
  failOpen?: boolean
  /** How long to wait for the revocation store. Default `'2s'`; `0` waits forever. */
  revocationTimeout?: Duration
  /**
   * The clock, in milliseconds since the epoch. Default `Date.now`. Tests inject a fake clock
   * here rather than faking timers, so cache expiry can be tested without touching global state.
   */
  now?: () => number
  /**
   * Replaces jose's `compactDecrypt` for the decryption step only — for a faster native
   * decryptor such as the node:crypto one in `@keyhole/core/node`. It is called after the
   * opener's own size, shape and header checks, with the keyring's private JWK for the header's
   * `kid`, and must return the plaintext or throw (any throw becomes `invalid_token`). It must
   * enforce ECDH-ES+A256KW/A256GCM itself. Claims, time and revocation checks still run here.
   * The third argument is the opener's parsed and checked protected header, bound to this token
   * (`nodeDecrypt` uses it to skip parsing the header twice); a decryptor may ignore it.
   * Default: jose.
   */
  decrypt?: (token: string, key: KeyholePrivateJwk, header: CheckedHeader) => Uint8Array | Promise<Uint8Array>
}

/** Counters of an {@link Opener}. */
export interface OpenerStats {
  /** Tokens actually handed to the decryption (cache misses that passed the header checks). */
  readonly decryptions: number
  /** Opens answered from the verified-grant cache. */
  readonly cacheHits: number
  /** Grants held in the cache now. */
  readonly cacheSize: number
}

/** Opens keyhole tokens. Create one per process and reuse it: it holds the verified-grant cache. */
export interface Opener {
  /**
   * Opens a token and returns its frozen {@link Grant}, or throws a `KeyholeError`:
   * `invalid_token`, `token_expired`, `token_not_yet_valid`, `token_revoked`,
   * `revocation_unavailable` (or `invalid_key` when a keyring key itself is broken).
   * Pass an {@link OpenInfo} object to have it filled with the cache outcome and timings.
   */
  open(token: string, info?: OpenInfo): Promise<Grant>
  /** The revocation store consulted on every open (the default memory store if none was given). */
  readonly revocations: RevocationStore
  /** Counters; a fresh snapshot on every read. */
  readonly stats: OpenerStats
  /** Empties the verified-grant cache. */
  clear(): void
  /** The credential types entries are validated with (built-ins plus `injectors`). */
  readonly injectors: InjectorRegistry
  /**
   * Teaches the opener credential types it does not have yet; a type it has is kept as it is.
   * What `createProxy({ injectors })` calls, so plug-ins given only to the proxy open too.
   *
   * @example
   * ```ts
   * opener.addInjectors([awsSigV4])
   * ```
   */
  addInjectors(more: readonly Injector<never>[]): void
  /** The host scope of a trusted issuer key; undefined when it may grant any host (or is unknown). */
  issuerScope(issuerKid: string): readonly HostRule[] | undefined
  /** Whether unsigned grants open (`acceptUnsigned`); a proxy needs `allowHosts` then. */
  readonly acceptsUnsigned: boolean
  /**
   * Replaces the trusted issuers (on a configuration reload). Cached grants of an issuer that
   * is no longer trusted stop opening at once.
   */
  setIssuers(issuers: readonly IssuerOption[]): void
}

const REVOCATION_TIMEOUT = Symbol('revocation timeout')
/** Most layers a token may have in all, the signed grant included. */
const MAX_LAYERS = 4

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
// How many microtask turns a store gets to answer before a timeout timer is armed for it.
const FAST_STORE_TICKS = 4

function listOf(value: string | readonly string[] | undefined): readonly string[] | undefined {
  if (value === undefined) return undefined
  return Object.freeze(typeof value === 'string' ? [value] : [...value])
}

// Appends an id to a list made only when the first one needs it.
function push(list: string[] | undefined, id: string): string[] {
  if (list === undefined) return [id]
  list.push(id)
  return list
}

/** The longest token an opener accepts unless told otherwise (`maxTokenBytes`). */
export const DEFAULT_MAX_TOKEN_BYTES = 8192

/**
 * Creates an opener: the last-hop check of a keyhole token. In order, it refuses oversized
 * tokens before parsing, checks the compact form and the protected header itself (algorithms,
 * `typ`, no `zip`/`crit`, a `kid` the keyring holds, the ephemeral key's curve), decrypts with
 * `jose` restricted to ECDH-ES+A256KW/A256GCM, parses and zeroes the plaintext, validates the
 * claims (and that the header's `hosts` hint equals them), then checks time and revocation.
 * Everything up to the claims is one opaque `invalid_token`.
 *
 * Verified grants are cached by exact token string (bounded LRU, never past `exp`); a cache hit
 * still checks the clock, that the key is still in the keyring, and revocation. Concurrent
 * opens of one token share a single decryption.
 *
 * @example
 * ```ts
 * const opener = createOpener({ keyring, revocations: createMemoryStore(), clockTolerance: '30s' })
 * try {
 *   const grant = await opener.open(token)
 *   authorize(grant, { method: 'GET', url: 'https://api.github.com/user' })
 * } catch (err) {
 *   if (isKeyholeError(err)) return new Response(null, { status: err.status })
 *   throw err
 * }
 * ```
 */
export function createOpener(options: OpenerOptions): Opener {
  const { keyring } = options
  if (!keyring || typeof keyring.cryptoKey !== 'function') {
    throw new KeyholeError('bad_request', 'createOpener needs { keyring } from createKeyring()')
  }
  const revocations = options.revocations ?? createMemoryStore()
  const maxTtl = toSeconds(options.maxTtl ?? '24h')
  const tolerance = toSeconds(options.clockTolerance ?? '30s')
  const revocationTimeoutMs = toSeconds(options.revocationTimeout ?? '2s') * 1000
  const maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES
  const cacheSize = options.cacheSize ?? 10_000
  if (!Number.isSafeInteger(maxTokenBytes) || maxTokenBytes <= 0) {
    throw new KeyholeError('bad_request', 'maxTokenBytes must be a positive integer')
  }
  if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) {
    throw new KeyholeError('bad_request', 'cacheSize must be 0 or a positive integer')
  }
  const failOpen = options.failOpen === true
  const clock = options.now ?? Date.now
  const audience = listOf(options.audience)
  const issuer = listOf(options.issuer)
  const decryptOptions = {
    keyManagementAlgorithms: ['ECDH-ES+A256KW'],
    contentEncryptionAlgorithms: ['A256GCM'],
    // zip is refused by the header check already; this makes jose refuse it as well.
    maxDecompressedLength: 0,
  }
  const utf8 = new TextDecoder('utf-8', { fatal: true })
  const customDecrypt = options.decrypt
  const customVerify = options.verify
  let injectors =
    options.injectors === undefined ? builtinInjectors : createInjectorRegistry(options.injectors)
  const acceptsUnsigned = options.acceptUnsigned === true
  const clockMs = () => clock()
  const issuerIds = new Map<string, string>()
  let issuers: IssuerSet = createIssuerSet(options.issuers, options.issuerJwks, clockMs)

  const curveOf = (kid: string) => keyring.curveOf(kid)
  const cache = createGrantCache(cacheSize)
  // Policies validated with this opener's injectors, by content: fresh tokens carrying the same
  // hosts and credentials share one validated, compiled policy.
  const templates = createPolicyTemplates()
  const inflight = new Map<string, Promise<Grant>>()
  let seenRevision = keyring.revision
  let decryptions = 0
  let cacheHits = 0

  // Keyring key imports that have already succeeded, with their result: awaiting a settled
  // promise still costs a turn of the microtask queue on every uncached open.
  const importedKeys = new WeakMap<Promise<CryptoKey>, CryptoKey>()

  /**
   * Decrypts and validates; caches the grant when it is well formed and not yet expired.
   * `depth` counts the layers around this token (1 for the token as presented).
   *
   * Synchronous whenever every step is (the keyring key already imported, a synchronous
   * `decrypt` and `verify` such as nodeDecrypt and nodeVerify, a loaded issuer key, no layers):
   * then it returns the grant itself and an uncached open awaits nothing before its revocation
   * check. Otherwise it returns a promise at the first step that has to wait. Either way, it
   * throws or rejects with what the opener reports.
   */
  function decryptAndValidate(token: string, depth = 1): Grant | Promise<Grant> {
    const checked = checkHeader(token, curveOf)
    const cty = checked.header.cty
    const signed = cty === 'JWT'
    const layered = cty === ATTENUATION_CTY
    // Refused before any decryption: an unsigned token can never open here.
    if (!signed && !layered && !acceptsUnsigned) throw invalidToken('unsigned')
    if (layered && depth >= MAX_LAYERS) throw invalidToken()
    const key = keyring.cryptoKey(checked.kid)
    if (!key) throw invalidToken()
    // Awaited (once per key) even with a custom decryptor: it is where a keyring key with a wrong
    // kid is caught. Later opens find it here and skip the microtask turn of awaiting it again.
    const cryptoKey = importedKeys.get(key)
    if (cryptoKey === undefined) {
      return key.then((imported) => {
        importedKeys.set(key, imported)
        return decryptWith(token, checked, imported, depth)
      })
    }
    return decryptWith(token, checked, cryptoKey, depth)
  }

  function decryptWith(
    token: string,
    checked: CheckedHeader,
    cryptoKey: CryptoKey,
    depth: number,
  ): Grant | Promise<Grant> {
    let out: Uint8Array | Promise<Uint8Array>
    try {
      decryptions++
      out = customDecrypt
        ? customDecrypt(token, keyring.get(checked.kid)!, checked)
        : compactDecrypt(token, cryptoKey, decryptOptions).then((result) => result.plaintext)
    } catch {
      throw invalidToken()
    }
    // A synchronous decryptor (nodeDecrypt) is not sent through the microtask queue.
    if (out instanceof Uint8Array) return validatePlaintext(token, checked, out, depth)
    return Promise.resolve(out).then(
      (plaintext) => validatePlaintext(token, checked, plaintext, depth),
      () => {
        throw invalidToken()
      },
    )
  }

  function validatePlaintext(
    token: string,
    checked: CheckedHeader,
    plaintext: unknown,
    depth: number,
  ): Grant | Promise<Grant> {
    if (!(plaintext instanceof Uint8Array)) throw invalidToken()
    let text: string
    try {
      text = utf8.decode(plaintext)
    } catch {
      throw invalidToken()
    } finally {
      // The plaintext holds the credentials. Zeroing it cannot reach the strings decoding and
      // JSON.parse made (see SECURITY.md), but it keeps the raw buffer from lingering.
      plaintext.fill(0)
    }
    const kid = checked.kid
    // The keyring's own kid string, not the header's copy: one string shared by every cached grant.
    const sharedKid = keyring.get(kid)?.kid ?? kid
    const cty = checked.header.cty
    if (cty === ATTENUATION_CTY) {
      return openLayer(text, checked, sharedKid, depth).then((grant) => {
        if (keyring.has(kid) && clock() / 1000 < grant.exp) cache.set(token, grant)
        return grant
      })
    }
    if (cty === 'JWT') {
      // Synchronous with nodeVerify and a loaded issuer key: no promise to await then.
      const verified = verifyGrant(text, issuers, customVerify)
      if (verified instanceof Promise) {
        return verified.then(({ claims, issuer: signer }) =>
          grantOf(token, checked, sharedKid, claims, signer),
        )
      }
      return grantOf(token, checked, sharedKid, verified.claims, verified.issuer)
    }
    let claims: unknown
    try {
      claims = JSON.parse(text)
    } catch {
      throw invalidToken()
    }
    return grantOf(token, checked, sharedKid, claims, undefined)
  }

  /** Validates the claims of a (signed or unsigned) grant, checks the issuer scope, caches it. */
  function grantOf(
    token: string,
    checked: CheckedHeader,
    sharedKid: string,
    claims: unknown,
    signer: IssuerKey | undefined,
  ): Grant {
    const grant = validateClaims(claims, {
      maxTtl,
      audience,
      issuer,
      kid: sharedKid,
      headerHosts: checked.hosts,
      injectors,
      templates,
      ...(signer && { issuerKid: signer.kid }),
    })
    if (signer?.scope) {
      const scope = signer.scope
      // An issuer may only grant what its scope covers: every host pattern, not just one. The
      // rules validateClaims compiled (cached by the grant's hosts array), rather than parsing each
      // pattern again.
      for (const rule of compilePolicy(grant).hosts) {
        if (!scope.some((allowed) => hostRuleCovers(allowed, rule))) throw invalidToken('issuer_scope')
      }
      // Token endpoints included: a side request is as much a grant of a host as a target is.
      for (const entry of grant.inject) {
        const endpoints = injectors.get(injectionType(entry))?.endpoints?.(entry as never) ?? []
        for (const url of endpoints) if (!scopeCoversUrl(scope, url)) throw invalidToken('issuer_scope')
      }
    }
    // The public binding hint must say exactly what the signed claims say.
    if (checked.header.jkt !== grant.cnf?.jkt) throw invalidToken()
    // Cached before time and revocation checks: those run on every open, hit or miss, so a
    // not-yet-valid or revoked grant in the cache is never returned; caching it only spares
    // the decryption when the same token is replayed.
    if (keyring.has(checked.kid) && clock() / 1000 < grant.exp) cache.set(token, grant)
    return grant
  }

  /**
   * Opens an attenuation layer: its own claims, then the token it wraps (from the cache when it is
   * there), and returns the combined grant — the inner credentials and policy, every layer's
   * restrictions in `layers`, the earliest expiry, the latest start, one key binding at most.
   */
  async function openLayer(text: string, checked: CheckedHeader, kid: string, depth: number): Promise<Grant> {
    let claims: unknown
    try {
      claims = JSON.parse(text)
    } catch {
      throw invalidToken()
    }
    const layer = validateLayer(claims, maxTtl)
    const inner = await innerGrant(layer.inner, depth + 1)
    const chain = inner.chain ?? [inner.jti]
    if (chain.length + 1 > MAX_LAYERS) throw invalidToken()
    const layers = inner.layers ?? []
    // The header's hosts hint is this layer's hosts, or the hint of the token it wraps.
    const innerHint = layers.find((l) => l.hosts !== undefined)?.hosts ?? inner.hosts
    if (!sameList(checked.hosts, layer.hosts ?? innerHint)) throw invalidToken()
    // One key binding per chain: a layer may bind an unbound token, never re-bind a bound one.
    if (layer.cnf && inner.cnf && layer.cnf.jkt !== inner.cnf.jkt) throw invalidToken()
    const cnf = layer.cnf ?? inner.cnf
    if (checked.header.jkt !== cnf?.jkt) throw invalidToken()
    const policy: LayerPolicy = Object.freeze({
      ...(layer.hosts && { hosts: layer.hosts }),
      ...(layer.paths && { paths: layer.paths }),
      ...(layer.methods && { methods: layer.methods }),
    })
    const nbf = Math.max(layer.nbf ?? 0, inner.nbf ?? 0)
    // A layer's sub is the holder's label: the issuer's stays beside it for audit records.
    const sub = layer.sub ?? inner.sub
    const signedSub = inner.signedSub !== undefined ? inner.signedSub : (inner.sub ?? null)
    return Object.freeze({
      jti: layer.jti,
      iat: Math.max(layer.iat, inner.iat),
      exp: Math.min(layer.exp, inner.exp),
      ...(nbf > 0 && { nbf }),
      ...(inner.iss !== undefined && { iss: inner.iss }),
      ...(inner.aud !== undefined && { aud: inner.aud }),
      ...(sub !== undefined && { sub }),
      ...(sub !== (signedSub ?? undefined) && { signedSub }),
      hosts: inner.hosts,
      ...(inner.paths !== undefined && { paths: inner.paths }),
      ...(inner.methods !== undefined && { methods: inner.methods }),
      inject: inner.inject,
      kid,
      ...(inner.issuerKid !== undefined && { issuerKid: inner.issuerKid }),
      ...(cnf && { cnf }),
      chain: Object.freeze([layer.jti, ...chain]),
      layers: Object.freeze([policy, ...layers]),
    }) as Grant
  }

  /** The grant of a wrapped token: cached, or opened with every rule a presented token meets. */
  async function innerGrant(token: string, depth: number): Promise<Grant> {
    if (token.length > maxTokenBytes) throw invalidToken()
    const cached = cache.get(token, clock() / 1000)
    if (cached !== undefined && keyring.has(cached.kid) && stillTrusted(cached)) return cached
    return decryptAndValidate(token, depth)
  }

  function sharedDecryption(token: string): Grant | Promise<Grant> {
    const pending = inflight.get(token)
    if (pending) return pending
    // A decryption that finished synchronously had no window in which another open could join it.
    const result = decryptAndValidate(token)
    if (!(result instanceof Promise)) return result
    inflight.set(token, result)
    // Settled either way, the entry goes: a failure must not answer later opens.
    const forget = () => inflight.delete(token)
    result.then(forget, forget)
    return result
  }

  async function isRevoked(jti: string): Promise<boolean> {
    try {
      const answer = revocations.isRevoked(jti)
      if (revocationTimeoutMs <= 0) return await answer
      // In-memory stores and caching-store hits answer within a few microtasks; only a store
      // that has not answered by then gets a timer. Arming and clearing one on every call would
      // cost more than the rest of a cache hit.
      let settled = 0
      let value = false
      let failure: unknown
      Promise.resolve(answer).then(
        (v) => {
          settled = 1
          value = v
        },
        (e) => {
          settled = 2
          failure = e
        },
      )
      for (let tick = 0; tick < FAST_STORE_TICKS && settled === 0; tick++) await undefined
      if (settled === 1) return value
      if (settled === 2) throw failure
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(REVOCATION_TIMEOUT), revocationTimeoutMs)
      })
      try {
        return await Promise.race([answer, timeout])
      } finally {
        clearTimeout(timer)
      }
    } catch (err) {
      if (failOpen) return false
      throw new KeyholeError(
        'revocation_unavailable',
        err === REVOCATION_TIMEOUT
          ? `the revocation store did not answer within ${revocationTimeoutMs} ms`
          : 'the revocation store failed',
        err === REVOCATION_TIMEOUT ? {} : { cause: err },
      )
    }
  }

  /** Whether a cached grant's signer is still trusted (dropped issuers lose their grants). */
  function stillTrusted(grant: Grant): boolean {
    const issuerKid = grant.issuerKid
    return issuerKid === undefined ? acceptsUnsigned : issuers.get(issuerKid) !== undefined
  }

  async function open(token: string, info?: OpenInfo): Promise<Grant> {
    // Timings only for a caller that asked for them (the proxy asks when it emits events).
    const started = info ? performance.now() : 0
    // Length in UTF-16 units: any non-ASCII character fails the segment check later anyway,
    // and an ASCII token is as many bytes as characters.
    if (typeof token !== 'string' || token.length === 0 || token.length > maxTokenBytes) throw invalidToken()
    if (keyring.revision !== seenRevision) {
      seenRevision = keyring.revision
      cache.deleteWhere((grant) => !keyring.has(grant.kid))
    }
    const nowSeconds = clock() / 1000
    let grant = cache.get(token, nowSeconds)
    if (grant !== undefined && !(keyring.has(grant.kid) && stillTrusted(grant))) {
      cache.delete(token)
      grant = undefined
    }
    const cacheHit = grant !== undefined
    if (grant !== undefined) {
      cacheHits++
    } else {
      try {
        const shared = sharedDecryption(token)
        grant = shared instanceof Promise ? await shared : shared
      } catch (err) {
        if (isKeyholeError(err)) throw err
        throw invalidToken()
      }
    }
    const checked = info ? performance.now() : 0
    if (info) {
      info.jti = grant.jti
      info.kid = grant.kid
      if (grant.sub !== undefined) info.sub = grant.sub
      if (grant.signedSub !== undefined) info.signedSub = grant.signedSub
      if (grant.issuerKid !== undefined) info.issuerKid = grant.issuerKid
      // Recorded before the checks that may refuse: an expired token or a store outage on a
      // cached grant is still a cache hit, not another open.
      info.cacheHit = cacheHit
      info.openMs = cacheHit ? 0 : checked - started
    }
    checkTime(grant, nowSeconds, tolerance)
    // Core's own stores answer from memory without a promise; any other store is asked about
    // every id at once, so a slow or hung store costs one wait, not one per id.
    let revoked = false
    // Allocated only for a store that does not answer from memory: not on a cached hit's path.
    let ask: string[] | undefined
    let known = answerNow(revocations, grant.jti)
    if (known === undefined) ask = [grant.jti]
    else revoked = known
    // Revoking any layer of an attenuated token revokes everything wrapped around it.
    const chain = grant.chain
    if (chain !== undefined) {
      for (let i = 1; i < chain.length && !revoked; i++) {
        known = answerNow(revocations, chain[i]!)
        if (known === undefined) ask = push(ask, chain[i]!)
        else revoked = known
      }
    }
    if (!revoked && grant.issuerKid !== undefined) {
      // Revoking `issuer:<kid>` refuses everything that issuer key signed.
      // One string per issuer key, so the store's lookup hashes a string it has seen before.
      let id = issuerIds.get(grant.issuerKid)
      if (id === undefined) {
        id = issuerRevocationId(grant.issuerKid)
        if (issuerIds.size >= 1024) issuerIds.clear()
        issuerIds.set(grant.issuerKid, id)
      }
      known = answerNow(revocations, id)
      if (known === undefined) ask = push(ask, id)
      else revoked = known
    }
    if (!revoked && ask !== undefined) {
      try {
        revoked =
          ask.length === 1 ? await isRevoked(ask[0]!) : (await Promise.all(ask.map(isRevoked))).includes(true)
      } finally {
        if (info) info.revocationMs = performance.now() - checked
      }
    } else if (info) {
      info.revocationMs = performance.now() - checked
    }
    if (revoked) throw new KeyholeError('token_revoked', 'the token has been revoked')
    return grant
  }

  return {
    open,
    revocations,
    get stats() {
      return { decryptions, cacheHits, cacheSize: cache.size }
    },
    clear() {
      cache.clear()
    },
    acceptsUnsigned,
    get injectors() {
      return injectors
    },
    addInjectors(more) {
      const missing = (more as unknown as readonly Injector<InjectEntry>[]).filter(
        (injector) => !injectors.has(injector.type),
      )
      if (missing.length === 0) return
      // Validated policies stay valid: a new type only lets entries of that type through.
      const plugins = [...injectors.values()].filter(
        (injector) => builtinInjectors.get(injector.type) !== injector,
      )
      injectors = createInjectorRegistry([...plugins, ...missing] as unknown as readonly Injector<never>[])
    },
    issuerScope: (issuerKid) => issuers.get(issuerKid)?.scope,
    setIssuers(next) {
      issuers = createIssuerSet(next, options.issuerJwks, clockMs)
    },
  }
}
