import type { KeyholeErrorCode } from '../errors.js'

/** Phase timings of one proxied request, in milliseconds. A phase that did not run is 0. */
export interface ProxyTimings {
  /** Reading the token and the target from the request. */
  token: number
  /** Decrypting and validating the token (0 on a cache hit). */
  open: number
  /** Asking the revocation store. */
  revocation: number
  /** Authorizing the target against the grant, including the address check. */
  policy: number
  /** Checking the proof of possession (0 for a token not bound to a key). */
  proof: number
  /** From sending upstream until the upstream's response headers arrived. */
  upstream: number
  /** From the request entering the engine until its response is handed back (body not included). */
  total: number
  /**
   * From the response being handed back until the event: the body read through, when the event
   * waits for it (body scrubbing counts what it masked); 0 when the event comes with the headers.
   */
  body: number
}

/**
 * What happened to one request, emitted once per request through `onEvent`. Holds no token,
 * credential, header or query value.
 */
export interface ProxyEvent {
  /**
   * `ok` when the upstream answered (whatever its status), the error code when the proxy
   * answered itself, or `client_aborted` when the client went away before the upstream answered.
   */
  outcome: 'ok' | 'client_aborted' | KeyholeErrorCode
  /** The status returned to the client (499 for `client_aborted`, as nginx logs it). */
  status: number
  method: string
  /**
   * The token's `jti`, `sub` and `kid`, once the token has been opened: also on a token refused
   * after opening (`token_expired`, `token_not_yet_valid`, `token_revoked`).
   */
  jti?: string
  sub?: string
  /**
   * When an attenuation layer set `sub` (a label the holder chose): the `sub` the issuer signed,
   * `null` when it signed none. Absent when `sub` is the signed one.
   */
  signedSub?: string | null
  kid?: string
  /** The thumbprint of the issuer key that signed the grant; absent for an unsigned grant. */
  issuerKid?: string
  /**
   * Why the proxy refused, when the code alone does not say: for `invalid_token`, `unsigned`,
   * `unknown_issuer`, `bad_signature` or `issuer_scope`; for `bad_request`, `body_credential` (a
   * body the grant's `body` credential cannot go into), `body_already_read` (a middleware read
   * it first) or `sigv4_payload`; for `upstream_unreachable`, `token_endpoint_*` (the OAuth token
   * endpoint failed). Only in events, never in a response.
   */
  reason?: string
  /** The target, once it has been read from the request. */
  scheme?: 'http' | 'https'
  host?: string
  port?: number
  /** The target path, without the query. */
  path?: string
  /** For an attenuated token: the `jti` of every layer, outermost first. */
  chain?: readonly string[]
  /**
   * How many occurrences of the grant's secrets were masked in the response (headers, and the
   * body when it is scrubbed — the event is then emitted once the body has been read through).
   */
  scrubbed?: number
  /** Whether the grant came from the opener's cache (absent when the token was not opened). */
  cacheHit?: boolean
  timings: ProxyTimings
}

/** Receives one {@link ProxyEvent} per request. May be async; errors are swallowed. */
export type ProxyEventListener = (event: ProxyEvent) => void | Promise<void>

const ignore = () => {}

/**
 * Calls the listener without letting it break the request: a throw or a rejected promise is
 * swallowed (the listener owns its own error reporting).
 *
 * @example
 * ```ts
 * emitEvent(options.onEvent, event)
 * ```
 */
export function emitEvent(listener: ProxyEventListener | undefined, event: ProxyEvent): void {
  if (!listener) return
  try {
    const result = listener(event)
    if (result && typeof (result as Promise<void>).then === 'function')
      (result as Promise<void>).then(ignore, ignore)
  } catch {
    // An observer must never be able to fail the request it observes.
  }
}
