import { toSeconds } from '../duration.js'
import { isKeyholeError, KeyholeError } from '../errors.js'
import type { Injector } from '../inject/injector.js'
import { builtinInjectors, createInjectorRegistry, type InjectorRegistry } from '../inject/registry.js'
import { isToken } from '../policy/header-rules.js'
import { type HostRule, parseHostPattern } from '../policy/host-pattern.js'
import type { Target } from '../policy/target.js'
import { createMemoryReplayCache, type ReplayCache } from '../proof/replay-cache.js'
import type { PrivateAddressPermit } from '../proxy/address-guard.js'
import { compilePrivateAddressPermit } from '../proxy/address-ranges.js'
import type { ProxyEventListener } from '../proxy/events.js'
import { TOKEN_HEADER } from '../proxy/read-token.js'
import { compileGatewayTarget, resolveOpenTarget, type TargetResolver } from '../proxy/resolve-target.js'
import { compileStripRules, type StripRules } from '../proxy/sanitize-headers.js'
import type { Grant } from '../types.js'
import { DEFAULT_MAX_BUFFERED_BODY } from './buffer-body.js'
import type { AdmissionOptions, ProxyOpener } from './options.js'

/** The last target a grant was authorized for, with what the address rule decided for it. */
export interface AuthorizedTarget {
  readonly method: string
  readonly url: string
  readonly target: Target
  readonly privateAddresses: PrivateAddressPermit
}

/**
 * The admission half of the pipeline (read token, open, authorize, build the upstream request),
 * compiled once from {@link AdmissionOptions}: the engine and `keyholeAuth` both run their
 * requests through one of these, so they take the same decisions.
 */
export interface Admission {
  readonly opener: ProxyOpener
  /** Lower-case extra token headers, without `authorization` and `x-keyhole-token` (read anyway). */
  readonly tokenHeaders: readonly string[]
  readonly stripRules: StripRules
  readonly resolve: TargetResolver
  /** Gateway mode: the operator chose the upstream, so the private-address rule does not apply. */
  readonly gateway: boolean
  /** The operator's host bound, or undefined for any public host. */
  readonly allowHosts: readonly HostRule[] | undefined
  /** The operator's private-address allowance: none, all, or these ranges. */
  readonly privateAddresses: PrivateAddressPermit
  /**
   * The last request each grant was authorized for, per pipeline (the operator's rules are this
   * pipeline's). Policy and address checks are pure functions of (grant, method, target) and an
   * agent calls the same URL over and over; expiry and revocation are still checked by the opener
   * on every request, before this. Held weakly: it goes when the grant leaves the opener's cache.
   */
  readonly lastAuthorized: WeakMap<Grant, AuthorizedTarget>
  readonly onEvent: ProxyEventListener | undefined
  /** Where proof ids are claimed. */
  readonly replayCache: ReplayCache
  /** The most of a request body the engine buffers when it must read one, bytes. */
  readonly maxBufferedBody: number
  /** Proof freshness window, seconds. */
  readonly proofWindow: number
  /** Wall clock in milliseconds (proof freshness). */
  readonly now: () => number
  /** Response scrubbing: headers and bodies (`true`), headers only, or off. */
  readonly scrub: boolean | 'headers'
  /** The credential types this pipeline applies (the opener's, plus any given to the engine). */
  readonly injectors: InjectorRegistry
  /** `performance.now` with a listener, a constant 0 without: no clock reads nobody will see. */
  readonly tick: () => number
}

const zero = () => 0
const now = () => performance.now()

function compileTokenHeaders(names: readonly string[] | undefined): string[] {
  const tokenHeaders: string[] = []
  for (const name of names ?? []) {
    if (typeof name !== 'string' || !isToken(name)) {
      throw new KeyholeError('bad_request', 'tokenHeaders must be header names')
    }
    const lower = name.toLowerCase()
    // X-Keyhole-Token, Authorization and Proxy-Authorization are read already (the latter two as
    // credentials); reading them again as raw values would see "Bearer <token>" and refuse it.
    if (
      lower !== TOKEN_HEADER &&
      lower !== 'authorization' &&
      lower !== 'proxy-authorization' &&
      !tokenHeaders.includes(lower)
    )
      tokenHeaders.push(lower)
  }
  return tokenHeaders
}

function compileAllowHosts(patterns: readonly string[] | undefined): HostRule[] | undefined {
  if (patterns === undefined) return undefined
  if (!Array.isArray(patterns) || patterns.length === 0) {
    throw new KeyholeError('bad_request', 'allowHosts must be a non-empty list of host patterns')
  }
  return patterns.map((pattern) => {
    try {
      return parseHostPattern(pattern)
    } catch (error) {
      const why = isKeyholeError(error) ? error.message : 'not a host pattern'
      throw new KeyholeError('bad_request', `allowHosts: ${why}`, { cause: error })
    }
  })
}

/**
 * Compiles the options the engine and `keyholeAuth` share. Throws `bad_request` for a missing
 * opener, a bad token header name, host pattern or CIDR range, and for an opener that accepts
 * unsigned tokens without `allowHosts` (unsigned and unbounded is an open relay).
 *
 * @example
 * ```ts
 * const admission = compileAdmission({ opener, allowHosts: ['api.github.com'] })
 * ```
 */
function compileInjectors(options: AdmissionOptions, who: string): InjectorRegistry | undefined {
  if (options.injectors === undefined) return undefined
  const registry = createInjectorRegistry(options.injectors)
  // An opener that can learn types (createOpener's) is taught the ones given only here.
  const opener = options.opener as { addInjectors?: (more: readonly Injector<never>[]) => void }
  if (typeof opener.addInjectors === 'function') opener.addInjectors(options.injectors)
  for (const type of registry.keys()) {
    if (!(options.opener.injectors ?? builtinInjectors).has(type)) {
      throw new KeyholeError(
        'bad_request',
        `${who}: the opener does not know the credential type '${type}'; give the same injectors to createOpener({ injectors })`,
      )
    }
  }
  return registry
}

function compileBodyLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_MAX_BUFFERED_BODY
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new KeyholeError('bad_request', 'maxBufferedBody must be a number of bytes')
  }
  return limit
}

export function compileAdmission(options: AdmissionOptions, who = 'createProxy'): Admission {
  if (!options || typeof options.opener?.open !== 'function') {
    throw new KeyholeError('bad_request', `${who} needs an opener (createOpener({ keyring, issuers }))`)
  }
  const tokenHeaders = compileTokenHeaders(options.tokenHeaders)
  const allowHosts = compileAllowHosts(options.allowHosts)
  if (options.opener.acceptsUnsigned === true && allowHosts === undefined) {
    throw new KeyholeError(
      'bad_request',
      `${who}: the opener accepts unsigned tokens, which anyone holding the public keys can mint; ` +
        'bound the targets with allowHosts, or trust issuers instead of acceptUnsigned',
    )
  }
  const onEvent = options.onEvent
  const scrub = options.scrub ?? true
  if (scrub !== true && scrub !== false && scrub !== 'headers') {
    throw new KeyholeError('bad_request', `${who}: scrub must be true, 'headers' or false`)
  }
  const ownInjectors = compileInjectors(options, who)
  return {
    opener: options.opener,
    tokenHeaders,
    // A body searched for secrets must be read whole: no Range or If-Range slices.
    stripRules: compileStripRules(tokenHeaders, { dropRange: scrub === true }),
    resolve: options.upstream !== undefined ? compileGatewayTarget(options.upstream) : resolveOpenTarget,
    gateway: options.upstream !== undefined,
    allowHosts,
    privateAddresses: compilePrivateAddressPermit(options.allowPrivateAddresses),
    lastAuthorized: new WeakMap(),
    onEvent,
    replayCache: options.replayCache ?? createMemoryReplayCache(),
    proofWindow: toSeconds(options.proofWindow ?? '60s'),
    // Without injectors of its own the engine uses the opener's, read live: another proxy on the
    // same opener may teach it more types later.
    get injectors() {
      return ownInjectors ?? options.opener.injectors ?? builtinInjectors
    },
    scrub,
    maxBufferedBody: compileBodyLimit(options.maxBufferedBody),
    now: options.now ?? Date.now,
    tick: onEvent ? now : zero,
  }
}
