import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { KeyholeError } from '../errors.js'
import { isPrivateAddress } from '../proxy/address-guard.js'

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
 *
 * @example
 * ```ts
 * const agent = new http.Agent({ keepAlive: true, lookup: createGuardedLookup() })
 * ```
 */
export function createGuardedLookup(lookup: Lookup = dnsLookup as unknown as Lookup): Lookup {
  return (hostname, options, callback) => {
    lookup(hostname, options, (error, address, family) => {
      if (error) {
        callback(error, address, family)
        return
      }
      const addresses = Array.isArray(address) ? (address as LookupAddress[]) : [{ address, family }]
      for (const entry of addresses) {
        if (isPrivateAddress(String(entry.address))) {
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
