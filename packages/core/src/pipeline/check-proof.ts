import type { Target } from '../policy/target.js'
import { proofTargetUrl, verifyProof } from '../proof/verify-proof.js'
import type { Grant } from '../types.js'
import type { Admission } from './admission.js'
import type { RequestState } from './request-state.js'

/**
 * The proof stage: for a key-bound grant (`cnf.jkt`), checks the request's `Keyhole-Proof` against
 * the authorized request — after the token is trusted and the policy passed, as RFC 9449 orders
 * it. `htu` is the target URL as it will be forwarded (never the proxy's own URL), without the
 * query. On an unbound grant the header is ignored (it is stripped before forwarding either way).
 * Throws `invalid_proof`, or `revocation_unavailable` when the replay cache cannot answer.
 *
 * @example
 * ```ts
 * authorizeTarget(state, admission)
 * if (state.grant.cnf) await checkProof(state, admission)
 * ```
 */
export async function checkProof(state: RequestState, admission: Admission): Promise<void> {
  const jkt = (state.grant as Grant).cnf?.jkt
  if (jkt === undefined) return
  const started = admission.tick()
  await verifyProof({
    proof: state.request.headers.get('keyhole-proof'),
    jkt,
    method: state.method,
    htu: proofTargetUrl(state.target as Target),
    token: state.token as string,
    nowSeconds: admission.now() / 1000,
    window: admission.proofWindow,
    tolerance: PROOF_CLOCK_TOLERANCE,
    replay: admission.replayCache,
  })
  state.proofMs = admission.tick() - started
}

/** Slack beyond the proof window for clocks that differ between client and proxy, in seconds. */
export const PROOF_CLOCK_TOLERANCE = 5
