import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { KeyholeError } from '../errors.js'
import { isPrivateAddress } from '../proxy/address-guard.js'
import type { AddressRanges } from '../proxy/address-ranges.js'

/**
 * A resolver in the shape of `dns.lookup` (both the single-address and the `all: true` form,
 * which Node's happy-eyeballs connect uses).
 */
export type Lookup = LookupFunction

/**
 * Wraps a resolver so that a name resolving to any loopback, private, link-local or otherwise
 * non-public address fails with `host_not_allowed` inside the lookup itself. Used as the
 * `lookup` of the node forwarder's agents, it checks the address actually dialed: a name that
 * resolves (or rebinds) to 127.0.0.1 between the policy check and the connect cannot slip
 * through. A resolution with one private address among public ones is refused as a whole.
 * With `allowed` (the operator's `allowPrivateAddresses` ranges), private addresses inside those
 * ranges pass.
 *
 * @example
 * ```ts
 * const agent = new http.Agent({ keepAlive: true, lookup: createGuardedLookup() })
 * const lan = createGuardedLookup(undefined, parseAddressRanges(['10.1.0.0/16']))
 * ```
 */
export function createGuardedLookup(
  lookup: Lookup = dnsLookup as unknown as Lookup,
  allowed?: AddressRanges,
): Lookup {
  return (hostname, options, callback) => {
    lookup(hostname, options, (error, address, family) => {
      if (error) {
        callback(error, address, family)
        return
      }
      const addresses = Array.isArray(address) ? (address as LookupAddress[]) : [{ address, family }]
      for (const entry of addresses) {
        const dialed = String(entry.address)
        if (isPrivateAddress(dialed) && !allowed?.has(dialed)) {
          callback(
            new KeyholeError(
              'host_not_allowed',
              'the target host resolves to a private, loopback or link-local address',
            ),
            '',
            0,
          )
          return
        }
      }
      callback(null, address, family)
    })
  }
}
