import { isKeyholeError, KeyholeError, type KeyholeErrorCode } from '../errors.js'
import { errorResponse, publicMessage } from '../proxy/error-response.js'
import { compileInjection } from '../proxy/inject-credentials.js'
import type { Admission } from './admission.js'
import type { Phase, RequestState } from './request-state.js'
import { CLIENT_GONE } from './send-upstream.js'

// The code for anything thrown that is not a KeyholeError, by the stage it was thrown in.
const PHASE_DEFAULT: Record<Phase, KeyholeErrorCode> = {
  token: 'invalid_token',
  open: 'invalid_token',
  policy: 'bad_target',
  upstream: 'upstream_unreachable',
}

const SYSTEM_ERROR_CODE = /^[A-Z][A-Z0-9_]{1,40}$/

function upstreamFailure(error: unknown): KeyholeError {
  // fetch wraps the system error in `cause`; only its code (ECONNREFUSED, ENOTFOUND, ...) is
  // shown, never a message that could echo a URL with an injected query credential.
  let code: unknown
  for (let e: unknown = error, depth = 0; e && depth < 4 && code === undefined; depth++) {
    const candidate = (e as { code?: unknown }).code
    if (typeof candidate === 'string' && SYSTEM_ERROR_CODE.test(candidate)) code = candidate
    e = (e as { cause?: unknown }).cause
  }
  return new KeyholeError(
    'upstream_unreachable',
    code ? `the upstream could not be reached (${code})` : 'the upstream could not be reached',
    { cause: error },
  )
}

/**
 * The error stage: turns whatever a stage threw into the proxy's JSON error response
 * (`X-Keyhole-Error`), records the outcome, the error's `reason` (for the event, never the
 * response) and the failed phase's time. The message never echoes the token or a credential.
 *
 * @example
 * ```ts
 * try { ... } catch (thrown) { fail(state, admission, thrown) }
 * ```
 */
function secretsOf(state: RequestState, admission: Admission): readonly string[] {
  if (state.plan !== undefined) return state.plan.secrets
  if (state.grant === undefined) return []
  try {
    return compileInjection(state.grant, admission.injectors).secrets
  } catch {
    // A grant this proxy cannot apply: its raw values are still what must not be echoed.
    return state.grant.inject.flatMap((entry) =>
      Object.values(entry).filter((value): value is string => typeof value === 'string'),
    )
  }
}

export function fail(state: RequestState, admission: Admission, thrown: unknown): void {
  let error = thrown
  const phase = state.phase
  const elapsed = admission.tick() - state.phaseStart
  if (phase === 'upstream') state.upstreamMs = elapsed
  else if (phase === 'policy') state.policyMs = elapsed
  else if (phase === 'open') {
    const info = state.info
    if (info && info.openMs === 0 && info.revocationMs === 0) info.openMs = elapsed
  }
  let code: KeyholeErrorCode
  let clientGone = false
  if (phase === 'upstream' && (error === CLIENT_GONE || state.clientSignal?.aborted)) {
    clientGone = true
    code = 'upstream_unreachable'
  } else if (isKeyholeError(error)) {
    code = error.code
    if (typeof error.reason === 'string') state.reason = error.reason
  } else {
    code = PHASE_DEFAULT[phase]
    if (phase === 'upstream') error = upstreamFailure(error)
  }
  state.outcome = clientGone ? 'client_aborted' : code
  const secrets = [...secretsOf(state, admission), ...state.producedSecrets]
  const token = state.token
  state.response = errorResponse(code, publicMessage(code, error, token ? [token, ...secrets] : secrets))
}
