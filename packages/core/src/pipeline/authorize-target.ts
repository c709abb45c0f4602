import { KeyholeError } from '../errors.js'
import { authorize } from '../policy/authorize.js'
import { matchHost } from '../policy/host-pattern.js'
import type { Target } from '../policy/target.js'
import { checkTargetAddress } from '../proxy/address-guard.js'
import { compileInjection } from '../proxy/inject-credentials.js'
import type { Grant } from '../types.js'
import type { Admission } from './admission.js'
import type { RequestState } from './request-state.js'

function withinAllowHosts(admission: Admission, target: Target): void {
  const rules = admission.allowHosts
  if (rules === undefined) return
  for (const rule of rules) if (matchHost(rule, target)) return
  throw new KeyholeError(
    'host_not_allowed',
    'the target scheme, host or port is not among the hosts this proxy allows',
  )
}

/**
 * Stage 3: checks the target against the grant's policy (host, path, method), the operator's
 * `allowHosts`, and the private-address rule (a private address only for a signed grant naming
 * it literally, or when the operator allows it; gateway mode's upstream is exempt), then
 * compiles where the credentials go. The answer for a grant's last (method, URL) is remembered
 * per pipeline, so an agent calling one URL over and over pays for the checks once.
 *
 * @throws KeyholeError `bad_target`, `host_not_allowed`, `path_not_allowed`, `method_not_allowed`
 * @example
 * ```ts
 * authorizeTarget(state, admission) // state.target, state.privateAddresses, state.plan
 * ```
 */
export function authorizeTarget(state: RequestState, admission: Admission): void {
  state.phase = 'policy'
  state.phaseStart = admission.tick()
  const grant = state.grant as Grant
  const url = (state.raw as { url: string }).url
  const method = state.method
  const last = admission.lastAuthorized.get(grant)
  if (last !== undefined && last.url === url && last.method === method) {
    state.target = last.target
    state.privateAddresses = last.privateAddresses
  } else {
    const target = authorize(grant, { method, url })
    state.target = target
    withinAllowHosts(admission, target)
    const privateAddresses = admission.gateway
      ? true
      : checkTargetAddress(target.host, grant, admission.privateAddresses)
    state.privateAddresses = privateAddresses
    admission.lastAuthorized.set(grant, { method, url, target, privateAddresses })
  }
  state.plan = compileInjection(grant, admission.injectors)
  const now = admission.tick()
  state.policyMs = now - state.phaseStart
  state.phaseStart = now
}
