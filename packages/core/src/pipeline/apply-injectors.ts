import { KeyholeError } from '../errors.js'
import type { InjectContext, OutgoingRequest } from '../inject/injector.js'
import { matchHost } from '../policy/host-pattern.js'
import { scopeCoversUrl, targetHostPattern } from '../policy/scope-covers-url.js'
import { parseTarget } from '../policy/target.js'
import { checkTargetAddress } from '../proxy/address-guard.js'
import type { InjectionPlan } from '../proxy/inject-credentials.js'
import type { Grant } from '../types.js'
import type { Admission } from './admission.js'
import type { Forwarding } from './forwarding.js'
import type { RequestState } from './request-state.js'

/** Whether any credential of the plan must see the request body. */
export function needsBody(plan: InjectionPlan, headers: Headers): boolean {
  for (const step of plan.steps) if (step.injector.needsBody(step.entry, { headers })) return true
  return false
}

/**
 * The side-request rules (an OAuth2 token endpoint): the URL must lie inside the operator's
 * `allowHosts` and the signing issuer's scope, and pass the private-address rule as a target would
 * — a private address only as an IP literal in a signed grant (the token URL is in the signed
 * grant), `localhost` only when the operator allows private addresses.
 */
function sideTarget(url: string, grant: Grant, admission: Admission, forwarding: Forwarding) {
  const target = parseTarget(url)
  const refused = () =>
    new KeyholeError(
      'host_not_allowed',
      'the credential endpoint is outside what this proxy and the issuer allow',
    )
  if (admission.allowHosts !== undefined && !admission.allowHosts.some((rule) => matchHost(rule, target))) {
    throw refused()
  }
  const scope = grant.issuerKid === undefined ? undefined : admission.opener.issuerScope?.(grant.issuerKid)
  if (scope !== undefined && !scopeCoversUrl(scope, url)) throw refused()
  const privateAddresses = checkTargetAddress(
    target.host,
    {
      hosts: [targetHostPattern(target)],
      ...(grant.issuerKid !== undefined && { issuerKid: grant.issuerKid }),
    },
    admission.privateAddresses,
  )
  if (!forwarding.checksDialedAddress && privateAddresses !== true && admission.allowHosts === undefined) {
    // This forwarder cannot check what a name resolves to; only allowHosts bounds it then.
    throw refused()
  }
  return { target, privateAddresses }
}

function headerRecord(init: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null)
  new Headers(init).forEach((value, name) => {
    out[name] = value
  })
  return out
}

function injectContext(state: RequestState, admission: Admission, forwarding: Forwarding): InjectContext {
  const grant = state.grant as Grant
  return {
    ...(grant.issuerKid !== undefined && { issuerKid: grant.issuerKid }),
    now: admission.now,
    checkUrl(url) {
      sideTarget(url, grant, admission, forwarding)
    },
    fetch: (async (input: string | URL | Request, init: RequestInit = {}) => {
      const { target, privateAddresses } = sideTarget(String(input), grant, admission, forwarding)
      const body = init.body
      const timeout = forwarding.timeoutMs
      return forwarding.forward(target.href, {
        method: init.method ?? 'GET',
        headers: headerRecord(init.headers),
        body:
          body == null
            ? null
            : typeof body === 'string'
              ? new TextEncoder().encode(body)
              : (body as Uint8Array<ArrayBuffer>),
        signal: init.signal ?? (timeout > 0 ? AbortSignal.timeout(timeout) : undefined),
        redirect: 'manual',
        duplex: 'half',
        keyhole: {
          scheme: target.scheme,
          host: target.host,
          port: target.port,
          path: target.path + target.search,
          privateAddresses,
          ...(forwarding.selfTimed && { timeout }),
        },
      })
    }) as typeof fetch,
  }
}

/**
 * The credentials that are not plain headers, query parameters or cookies (basic, body, hmac,
 * oauth2, aws-sigv4, plug-ins): applied through their injectors to the request `buildUpstream`
 * made — every non-signing one in grant order, then the signing ones, so a signature covers the
 * final request. A changed body goes on with its own `Content-Length`. What an injector produced
 * that grants authority (an access token, a signature) is kept for the scrubber.
 *
 * @example
 * ```ts
 * buildUpstream(state, admission)
 * if (state.plan.steps.length > 0) await applyInjectors(state, admission, forwarding)
 * ```
 */
export async function applyInjectors(
  state: RequestState,
  admission: Admission,
  forwarding: Forwarding,
): Promise<void> {
  const plan = state.plan as InjectionPlan
  const url = new URL(state.url)
  const before = url.href
  const headers = new Headers()
  for (const [name, value] of Object.entries(state.headers as Record<string, string>))
    headers.set(name, value)
  const outgoing: OutgoingRequest = { method: state.method, url, headers, body: state.buffered ?? null }
  const context = injectContext(state, admission, forwarding)
  const produced: string[] = []
  for (const step of plan.steps) {
    const result = await step.injector.apply(outgoing, step.entry, context)
    if (result && Array.isArray(result.secrets))
      for (const secret of result.secrets) if (secret) produced.push(secret)
  }
  state.producedSecrets = produced
  if (url.href !== before) {
    state.url = url.href
    state.path = url.pathname + url.search
  }
  const out: Record<string, string> = Object.create(null)
  headers.forEach((value, name) => {
    out[name] = value
  })
  const bodyless = state.method === 'GET' || state.method === 'HEAD'
  if (outgoing.body !== null && !(bodyless && outgoing.body.byteLength === 0)) {
    state.body = outgoing.body as Uint8Array<ArrayBuffer>
    out['content-length'] = String(outgoing.body.byteLength)
  }
  state.headers = out
}
