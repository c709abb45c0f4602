/**
 * The credential-injector plug-in contract. Engine-independent: nothing here knows about the
 * proxy's pipeline, a framework or a runtime; an injector sees one outgoing request and one
 * entry of a grant's `inject` list.
 */

/**
 * One entry of a grant's `inject` list, as an injector sees it: a `type` and the entry's own
 * fields (all of them already checked by {@link Injector.validate}).
 */
export type InjectEntry = { readonly type: string } & Readonly<Record<string, unknown>>

/**
 * The request as the engine is about to send it. Injectors mutate it in place.
 *
 * @example
 * ```ts
 * const request: OutgoingRequest = {
 *   method: 'POST',
 *   url: new URL('https://api.example.com/v1/things?x=1'),
 *   headers: new Headers({ 'content-type': 'application/json' }),
 *   body: new TextEncoder().encode('{"name":"a"}'),
 * }
 * await injector.apply(request, entry, context)
 * ```
 */
export interface OutgoingRequest {
  method: string
  /**
   * The target URL. An injector that edits the query edits `url.search` as a string and keeps
   * every parameter it does not own byte for byte (`URLSearchParams` would re-encode them all,
   * and a signed or picky upstream would see a different request).
   */
  url: URL
  /** The outgoing headers (inbound ones already stripped by the engine). */
  headers: Headers
  /**
   * The buffered body when some injector of the grant asked for it ({@link Injector.needsBody});
   * `null` when the request has no body or when it streams through untouched. An injector that
   * changes it assigns a new array; the engine sends it with a matching `Content-Length`.
   */
  body: Uint8Array | null
}

/**
 * What the engine lends an injector for one request.
 *
 * @example
 * ```ts
 * const context: InjectContext = {
 *   issuerKid: grant.issuerKid,
 *   fetch: guardedFetch,                       // dials through the engine's address guard
 *   checkUrl: (url) => assertSideRequestAllowed(grant, url),
 *   now: Date.now,
 * }
 * ```
 */
export interface InjectContext {
  /** The thumbprint of the grant's issuer key; part of every cache key (oauth2). */
  issuerKid?: string
  /**
   * The dialer for side requests (the oauth2 token endpoint). The engine passes one that goes
   * through its address guard, so a token URL cannot reach what a target could not.
   */
  fetch: typeof fetch
  /**
   * Throws `KeyholeError('host_not_allowed')` when the engine's rules refuse a side-request URL
   * (outside the issuer's scope, outside the operator's `allowHosts`).
   */
  checkUrl(url: string): void
  /** Milliseconds since the epoch (injectable for tests). */
  now(): number
}

/**
 * What {@link Injector.apply} may return: secrets that exist only once the request is built
 * (an HMAC signature over this body, the SigV4 `Authorization` for this request, the access
 * token that was sent). The engine adds them to this request's scrub set.
 */
export interface AppliedSecrets {
  readonly secrets: readonly string[]
}

/**
 * A kind of credential: how an `inject` entry of `type` is validated, where it writes, and how
 * it is put into an outgoing request. Core ships `header`, `query`, `cookie`, `basic`, `body`,
 * `hmac` and `oauth2` ({@link builtinInjectors}); plug-ins such as `@keyhole/aws`'s `aws-sigv4`
 * are passed to the proxy and to validation through {@link createInjectorRegistry}.
 *
 * Rules every injector keeps:
 * - `validate` throws `KeyholeError('invalid_grant')` naming the field by position
 *   (`inject[2].value`), never quoting a value: a name can be a secret pasted in the wrong place.
 * - `apply` throws `KeyholeError` with a wire code (`bad_request`, `upstream_unreachable`, ...)
 *   and never puts a credential, or anything a side request answered, in the message.
 * - `secrets` lists every form of the credential that grants authority, for the scrubber.
 *
 * @example
 * ```ts
 * import { KeyholeError, type Injector } from '@keyhole/core'
 *
 * // A made-up API that wants its key in an `X-Key` header, upper-cased.
 * const upperKey: Injector<{ type: 'upper-key'; key: string }> = {
 *   type: 'upper-key',
 *   fields: ['key'],
 *   validate(entry, where) {
 *     if (typeof entry.key !== 'string' || !/^[a-z0-9]+$/.test(entry.key))
 *       throw new KeyholeError('invalid_grant', `${where}.key must be lower-case letters and digits`)
 *   },
 *   writesHeaders: () => ['x-key'],
 *   needsBody: () => false,
 *   apply(request, entry) {
 *     request.headers.set('x-key', entry.key.toUpperCase())
 *   },
 *   secrets: (entry) => [entry.key, entry.key.toUpperCase()],
 * }
 * const injectors = createInjectorRegistry([upperKey])
 * ```
 */
export interface Injector<Entry extends InjectEntry = InjectEntry> {
  /** The `type` an `inject` entry names to use this injector. */
  readonly type: string
  /**
   * The members an entry of this type may carry besides `type`. `mint` copies exactly these
   * (member by member, so nothing else lands in a token) and the opener does the same.
   */
  readonly fields: readonly string[]
  /**
   * Checks an entry at mint and again at open. `where` is the entry's position (`inject[2]`).
   * Throws `KeyholeError('invalid_grant')` naming the field by position, never a value.
   */
  validate(entry: Readonly<Record<string, unknown>>, where: string): void
  /**
   * Header names (lower case) this entry sets. Mint refuses two entries writing the same header
   * (unless both are of one {@link Injector.combines} type), and the engine strips inbound
   * headers of these names before injecting.
   */
  writesHeaders(entry: Entry): readonly string[]
  /**
   * Further places this entry owns, for the conflict check at mint: opaque keys that two entries
   * must not share, e.g. `query:api_key` or `body:/auth/key`. Optional.
   */
  writes?(entry: Entry): readonly string[]
  /**
   * Entries of this type add to the headers they write instead of replacing them (`cookie`:
   * `a=1; b=2`), so several of them may share a header; the engine still strips the inbound one.
   */
  readonly combines?: boolean
  /**
   * Whether {@link Injector.apply} needs the buffered body (`body`, `hmac`; `aws-sigv4` when the
   * client sent no `X-Amz-Content-Sha256`). `request.headers` are the inbound headers.
   */
  needsBody(entry: Entry, request: { readonly headers: Headers }): boolean
  /** Signing injectors run last, after every other change to the request. */
  readonly signs?: boolean
  /**
   * Puts the credential into the request. May be async (side requests, WebCrypto). Returns the
   * secrets that only exist for this request, when there are such ({@link AppliedSecrets}).
   */
  apply(
    request: OutgoingRequest,
    entry: Entry,
    context: InjectContext,
  ): void | AppliedSecrets | Promise<void | AppliedSecrets>
  /**
   * The URLs this entry makes the proxy contact besides the target (oauth2's `tokenUrl`): the
   * opener refuses a grant whose issuer's scope does not cover them, as it refuses hosts outside
   * it. Optional; none by default.
   */
  endpoints?(entry: Entry): readonly string[]
  /**
   * Everything the scrubber must hide that is known from the entry alone: the raw values and
   * the derived forms that grant authority (the rendered `Basic …` value). Secrets that depend
   * on a request come back from {@link Injector.apply}; an injector that caches one (oauth2's
   * live access token) also lists it here while it is cached.
   */
  secrets(entry: Entry): readonly string[]
}
