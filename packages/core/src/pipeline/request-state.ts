import type { Target } from '../policy/target.js'
import type { PrivateAddressPermit } from '../proxy/address-guard.js'
import type { ProxyEvent } from '../proxy/events.js'
import type { InjectionPlan } from '../proxy/inject-credentials.js'
import type { RawTarget } from '../proxy/resolve-target.js'
import type { Grant, OpenInfo } from '../types.js'
import type { Admission } from './admission.js'
import type { ProxyContext } from './options.js'

/** The stage a request is in; an error thrown there is reported with that stage's timing and default code. */
export type Phase = 'token' | 'open' | 'policy' | 'upstream'

/**
 * Everything one request carries through the pipeline. Each stage reads what the stages before
 * it wrote and fills in its own fields; one object per request, created with every field
 * present so that it keeps one shape.
 */
export interface RequestState {
  /** The incoming request (or, in `prepare`, the request the gateway hands over). */
  request: Request
  readonly context: ProxyContext | undefined
  method: string
  phase: Phase
  /** Clock readings and phase durations in ms; all 0 when no one listens for events. */
  readonly started: number
  phaseStart: number
  tokenMs: number
  policyMs: number
  proofMs: number
  upstreamMs: number
  /** Filled in by the opener when someone listens for events, undefined otherwise. */
  readonly info: OpenInfo | undefined
  // read-request
  token: string | undefined
  raw: RawTarget | undefined
  // open-grant
  grant: Grant | undefined
  // authorize-target
  target: Target | undefined
  privateAddresses: PrivateAddressPermit
  plan: InjectionPlan | undefined
  // build-upstream
  /** The URL to send to, credentials in its query included. */
  url: string
  /** The path and query to send, byte for byte. */
  path: string
  headers: Record<string, string> | undefined
  body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer> | null
  /** Masked occurrences in the response, once known; `scrubbing` while the body is still streaming. */
  scrubbed: number | 'scrubbing'
  /** When the response was handed back (clock of `admission.tick`), for the event's total. */
  handedBack: number | undefined
  /** Set by the engine when the event waits for the body's scrub count. */
  onScrubbed: (() => void) | undefined
  /** Secrets an injector produced for this request (an access token, a signature), for the scrubber. */
  producedSecrets: readonly string[]
  /** The request body, read once when a stage had to see it; what goes upstream then. */
  buffered: Uint8Array<ArrayBuffer> | undefined
  clientSignal: AbortSignal | undefined
  // send-upstream, answer, fail
  response: Response | undefined
  outcome: ProxyEvent['outcome']
  /** Why a `KeyholeError` was thrown (its `reason`), for the event only. */
  reason: string | undefined
}

/**
 * A fresh {@link RequestState} for `request`.
 *
 * @example
 * ```ts
 * const state = startRequest(admission, request, { path: '/https/api.github.com/user' })
 * ```
 */
const NO_SECRETS: readonly string[] = Object.freeze([])

export function startRequest(
  admission: Admission,
  request: Request,
  context: ProxyContext | undefined,
): RequestState {
  const started = admission.tick()
  return {
    request,
    context,
    method: request.method,
    phase: 'token',
    started,
    phaseStart: started,
    tokenMs: 0,
    policyMs: 0,
    proofMs: 0,
    upstreamMs: 0,
    info: admission.onEvent ? { cacheHit: false, openMs: 0, revocationMs: 0 } : undefined,
    token: undefined,
    raw: undefined,
    grant: undefined,
    target: undefined,
    privateAddresses: false,
    plan: undefined,
    url: '',
    path: '',
    headers: undefined,
    body: null,
    buffered: undefined,
    producedSecrets: NO_SECRETS,
    scrubbed: 0,
    onScrubbed: undefined,
    handedBack: undefined,
    clientSignal: undefined,
    response: undefined,
    outcome: 'ok',
    reason: undefined,
  }
}
