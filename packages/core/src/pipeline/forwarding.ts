import { toSeconds } from '../duration.js'
import { KeyholeError } from '../errors.js'
import { createFetchForwarder, type Forwarder } from '../proxy/forward-fetch.js'
import type { ContentDecoders } from '../scrub/decode-for-scrubbing.js'
import type { Admission } from './admission.js'
import type { ProxyOptions } from './options.js'

/** The sending half of the engine's pipeline, compiled once from the forwarder and its capabilities. */
export interface Forwarding {
  readonly forward: Forwarder
  /** The forwarder applies the timeout and listens to the client's signal itself. */
  readonly selfTimed: boolean
  /** The forwarder's responses need no hop-by-hop stripping. */
  readonly cleanResponses: boolean
  /** Connect plus headers timeout in ms; 0 waits forever. */
  readonly timeoutMs: number
  /** Decoders for response encodings beyond what the runtime decodes (br on Node), for the scrubber. */
  readonly contentDecoders: ContentDecoders | undefined
  /** The forwarder checks the addresses it dials (side requests rely on it). */
  readonly checksDialedAddress: boolean
}

/**
 * Compiles the forwarder options and refuses an unsafe setup: in open mode, a forwarder that
 * does not check the addresses it dials (a name could resolve to a private address) is taken
 * only when `allowHosts` bounds the targets or the forwarder says its runtime cannot reach
 * private networks. Gateway mode sends only to the operator's upstream, so it needs neither.
 *
 * @throws KeyholeError `bad_request`
 * @example
 * ```ts
 * const forwarding = compileForwarding(options, compileAdmission(options))
 * ```
 */
export function compileForwarding(options: ProxyOptions, admission: Admission): Forwarding {
  const forward = options.forward ?? createFetchForwarder()
  if (typeof forward !== 'function') throw new KeyholeError('bad_request', 'forward must be a function')
  const capabilities = forward.capabilities ?? {}
  const guarded =
    capabilities.checksDialedAddress === true ||
    capabilities.reachesPrivateNetworks === false ||
    admission.allowHosts !== undefined ||
    admission.gateway
  if (!guarded) {
    throw new KeyholeError(
      'bad_request',
      'createProxy: this forwarder does not check the addresses it dials, so a host name that ' +
        'resolves to a private address would reach it; on Node use createNodeForwarder() from ' +
        '@keyhole/core/node, or bound the targets with allowHosts',
    )
  }
  // setTimeout cannot wait longer than 2^31-1 ms; anything longer is as good as forever.
  const timeoutMs = Math.min(toSeconds(options.timeout ?? '30s') * 1000, 2_147_483_647)
  return {
    forward,
    selfTimed: capabilities.appliesTimeout === true,
    cleanResponses: capabilities.cleanResponses === true,
    timeoutMs,
    contentDecoders: capabilities.contentDecoders,
    checksDialedAddress:
      capabilities.checksDialedAddress === true || capabilities.reachesPrivateNetworks === false,
  }
}
