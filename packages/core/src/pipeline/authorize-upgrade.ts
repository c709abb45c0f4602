import { KeyholeError } from '../errors.js'
import type { InjectionPlan } from '../proxy/inject-credentials.js'
import { compileScrubber, type Scrubber } from '../scrub/compile-scrubber.js'
import type { Grant } from '../types.js'
import { type Admission, compileAdmission } from './admission.js'
import { applyInjectors } from './apply-injectors.js'
import { authorizeTarget } from './authorize-target.js'
import { buildUpstream } from './build-upstream.js'
import { checkBodyMethod, restrictsMethods } from './check-body-method.js'
import { checkProof } from './check-proof.js'
import { compileForwarding, type Forwarding } from './forwarding.js'
import { openGrant } from './open-grant.js'
import type { ProxyOptions } from './options.js'
import { readRequest } from './read-request.js'
import type { RequestState } from './request-state.js'

/** The engine's admission and forwarding halves, compiled once for WebSocket upgrades. */
export interface UpgradePipeline {
  readonly admission: Admission
  readonly forwarding: Forwarding
}

/**
 * Compiles the engine's options for upgrades, with the same checks `createProxy` makes (an
 * opener, `allowHosts` for unsigned tokens, a forwarder for side requests that checks addresses
 * in open mode).
 *
 * @throws KeyholeError `bad_request`
 * @example
 * ```ts
 * const pipeline = compileUpgradePipeline({ opener, forward: createNodeForwarder() })
 * ```
 */
export function compileUpgradePipeline(options: ProxyOptions): UpgradePipeline {
  const admission = compileAdmission(options, 'createUpgradeHandler')
  return { admission, forwarding: compileForwarding(options, admission) }
}

/**
 * The handshake headers a WebSocket upstream needs. `Upgrade` and `Connection` are hop-by-hop,
 * and the `Sec-WebSocket-*` ones ride along with them, so the engine's strip rules would drop or
 * keep them by accident; they are set here, exactly these, from the inbound request.
 * `Sec-WebSocket-Extensions` is never sent: without `permessage-deflate` frames stay readable for
 * the scrubber.
 */
const FROM_CLIENT = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol'] as const

/**
 * True for an upgrade request keyhole can proxy: `GET` with `Upgrade: websocket`, a
 * `Sec-WebSocket-Key` and a `Sec-WebSocket-Version`.
 *
 * @example
 * ```ts
 * if (!isWebSocketUpgrade(request)) throw new KeyholeError('bad_request', 'not a WebSocket upgrade')
 * ```
 */
export function isWebSocketUpgrade(request: Request): boolean {
  const headers = request.headers
  return (
    request.method === 'GET' &&
    /(^|,)\s*websocket\s*(,|$)/i.test(headers.get('upgrade') ?? '') &&
    headers.has('sec-websocket-key') &&
    headers.has('sec-websocket-version')
  )
}

/**
 * The engine's stages up to the upstream request, for a WebSocket upgrade: read token → open →
 * authorize (policy, `allowHosts`, the private-address rule) → proof → build (strip, inject) →
 * the other credential kinds. Then the handshake headers are set from the inbound request
 * (`Sec-WebSocket-Protocol` only when no credential sets it: some services take their key
 * there). Leaves `state.url`, `state.path`, `state.headers` and `state.privateAddresses` ready
 * for dialing; the token and `Keyhole-Proof` are stripped like on any request.
 *
 * @throws KeyholeError any code the engine answers with before sending; `bad_request` for an
 *   upgrade that is not a WebSocket handshake
 * @example
 * ```ts
 * const state = startRequest(pipeline.admission, request, { path: req.url })
 * try {
 *   await authorizeUpgrade(state, pipeline)
 * } catch (error) {
 *   fail(state, pipeline.admission, error) // state.response is the JSON refusal
 * }
 * ```
 */
export async function authorizeUpgrade(state: RequestState, pipeline: UpgradePipeline): Promise<void> {
  const { admission, forwarding } = pipeline
  readRequest(state, admission)
  if (!isWebSocketUpgrade(state.request)) {
    throw new KeyholeError('bad_request', 'only WebSocket upgrades (GET with Upgrade: websocket) are proxied')
  }
  state.grant = await openGrant(state, admission)
  authorizeTarget(state, admission)
  const grant = state.grant as Grant
  if (grant.cnf !== undefined) await checkProof(state, admission)
  if (restrictsMethods(grant)) await checkBodyMethod(state, admission.maxBufferedBody)
  const plan = state.plan as InjectionPlan
  buildUpstream(state, admission)
  if (plan.steps.length > 0) await applyInjectors(state, admission, forwarding)
  const headers = state.headers as Record<string, string>
  const inbound = state.request.headers
  for (const name of Object.keys(headers)) {
    if (name.startsWith('sec-websocket-') && !plan.headerNames.has(name)) delete headers[name]
  }
  // A handshake has no body; whatever a stage set for one must not reach the upstream.
  delete headers['content-length']
  delete headers['accept-encoding']
  state.body = null
  for (const name of FROM_CLIENT) {
    const value = inbound.get(name)
    if (value !== null && !plan.headerNames.has(name)) headers[name] = value
  }
  headers.upgrade = 'websocket'
  headers.connection = 'Upgrade'
}

/**
 * The scrubber for an authorized upgrade's responses: every secret the grant injects and every
 * one an injector produced for it; `undefined` when scrubbing is off or there is nothing to mask.
 *
 * @example
 * ```ts
 * const scrubber = upgradeScrubber(state, pipeline.admission)
 * if (scrubber) scrubber.scrubHeaders(headers)
 * ```
 */
export function upgradeScrubber(state: RequestState, admission: Admission): Scrubber | undefined {
  if (admission.scrub === false) return undefined
  const secrets = state.plan?.secrets ?? []
  const scrubber =
    state.producedSecrets.length === 0
      ? compileScrubber(secrets)
      : compileScrubber([...secrets, ...state.producedSecrets])
  return scrubber.empty ? undefined : scrubber
}
