import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isKeyholeError } from '../../errors.js'
import { addressKey, checkTargetAddress, type PrivateAddressPermit } from '../../proxy/address-guard.js'
import { compilePrivateAddressPermit } from '../../proxy/address-ranges.js'
import type { Grant } from '../../types.js'
import { createGuardedLookup, type Lookup } from '../guarded-lookup.js'

/** The engine's private-address rule as the forward proxy applies it to a CONNECT authority. */
export interface ConnectAddressRule {
  /** The operator's `allowPrivateAddresses`, compiled. */
  readonly permit: PrivateAddressPermit
  /** The resolver the engine's forwarder dials with. */
  readonly lookup: Lookup
}

// Stands for "no grant is known" where the grant cannot matter: for host names the rule depends on
// the operator's permit only (a grant naming an address literally never covers a name).
const NO_GRANT = Object.freeze({ hosts: [] as string[] }) as unknown as Grant

/**
 * Compiles the forward proxy's `allowPrivateAddresses` (the engine's option of the same name) and
 * resolver into a {@link ConnectAddressRule}.
 *
 * @throws KeyholeError `bad_request` for a value that is not `true`, `false` or CIDR ranges
 */
export function compileConnectAddressRule(
  allowPrivateAddresses: boolean | readonly string[] | undefined,
  lookup: Lookup | undefined,
): ConnectAddressRule {
  return {
    permit: compilePrivateAddressPermit(allowPrivateAddresses),
    lookup: lookup ?? (dnsLookup as unknown as Lookup),
  }
}

function resolveAll(lookup: Lookup, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    lookup(host, { all: true }, (error: NodeJS.ErrnoException | null, _address: string | LookupAddress[]) => {
      if (error) reject(error)
      else resolve()
    })
  })
}

/**
 * Refuses a CONNECT authority the engine's private-address rule would refuse for every request
 * inside the tunnel, so the CONNECT itself is answered 403 before any TLS and nothing is dialed:
 *
 * - an IP literal that is private, loopback or link-local, unless the operator allows it or the
 *   opened grant is signed and names that address literally (`checkTargetAddress`). Without a
 *   grant (the forward proxy has no `opener`) a literal is left to the engine: only the opened
 *   grant says whether a signed grant names it.
 * - a local-only name (`localhost`, `*.internal`, ...) unless the operator allows private addresses;
 * - a name that resolves, with the engine's resolver, to an address the permit does not cover
 *   (the node forwarder's guarded lookup). A name that does not resolve is not refused here: the
 *   engine answers the requests inside (502), and it checks every address it dials again anyway.
 *
 * @param host the CONNECT target's normalized host (`Target.host`, IPv6 in brackets)
 * @throws KeyholeError `host_not_allowed`
 * @example
 * ```ts
 * await checkConnectAddress('metadata.example', grant, compileConnectAddressRule(false, undefined))
 * ```
 */
export async function checkConnectAddress(
  host: string,
  grant: Grant | undefined,
  rule: ConnectAddressRule,
): Promise<void> {
  if (rule.permit === true) return
  if (addressKey(host) !== undefined) {
    if (grant !== undefined) checkTargetAddress(host, grant, rule.permit)
    return
  }
  const permit = checkTargetAddress(host, NO_GRANT, rule.permit)
  if (permit === true) return
  const guarded = createGuardedLookup(rule.lookup, permit === false ? undefined : permit)
  try {
    await resolveAll(guarded, host)
  } catch (error) {
    if (isKeyholeError(error)) throw error
    // Resolution failed: nothing can be dialed there, and the engine says so per request.
  }
}
