import { lookup as dnsLookup } from 'node:dns'
import http, { type ClientRequest, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { KeyholeError } from '../../errors.js'
import type { Target } from '../../policy/target.js'
import { addressKey, isPrivateAddress, type PrivateAddressPermit } from '../../proxy/address-guard.js'
import { createGuardedLookup, type Lookup } from '../guarded-lookup.js'

/** What to dial: the authorized target, the path and headers the pipeline built, the address permit. */
export interface UpgradeDial {
  readonly target: Target
  /** Path and query to send, byte for byte (credentials in the query included). */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  /** The authorize stage's decision for private addresses (`state.privateAddresses`). */
  readonly privateAddresses: PrivateAddressPermit
}

/** How to dial. */
export interface UpgradeDialOptions {
  /** Connect plus handshake-response timeout in ms; 0 waits forever. */
  readonly timeoutMs: number
  /** Destroys the attempt when it aborts (the client went away). */
  readonly signal?: AbortSignal
  /** The resolver, shaped like `dns.lookup`; its answers are checked like the node forwarder's. */
  readonly lookup?: Lookup | undefined
  /** Extra CA certificates to trust for `wss` upstreams (PEM). Default: Node's. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[] | undefined
}

/** The upstream's answer to the handshake. */
export type DialedUpstream =
  /** 101: the upstream switched; `head` is what it sent after the 101 already. */
  | {
      readonly switched: true
      readonly response: IncomingMessage
      readonly socket: Duplex
      readonly head: Buffer
    }
  /** Anything else: the upstream's response, body unread. */
  | { readonly switched: false; readonly response: IncomingMessage }

function lookupFor(permit: PrivateAddressPermit, lookup: Lookup | undefined): Lookup {
  if (permit === true) return lookup ?? (dnsLookup as unknown as Lookup)
  return createGuardedLookup(lookup, permit === false ? undefined : permit)
}

/**
 * Sends the WebSocket handshake upstream with `node:http`/`node:https` (`ws` → http, `wss` →
 * https), on a connection of its own (never a pooled one: it becomes the socket), and checks the
 * address it dials as the node forwarder does: an IP literal before connecting, every DNS answer
 * in the lookup (a private, loopback or link-local address fails with `host_not_allowed` unless
 * the permit covers it). Resolves with the 101 and its socket, or with any other response;
 * rejects on connection failure, or with `upstream_timeout` past `timeoutMs`.
 *
 * @example
 * ```ts
 * const dialed = await dialUpstream(
 *   { target: state.target, path: state.path, headers: state.headers, privateAddresses: state.privateAddresses },
 *   { timeoutMs: 30_000 },
 * )
 * ```
 */
export function dialUpstream(dial: UpgradeDial, options: UpgradeDialOptions): Promise<DialedUpstream> {
  return new Promise((resolve, reject) => {
    const { target, privateAddresses: permit } = dial
    const bracketed = target.host.startsWith('[')
    const host = bracketed ? target.host.slice(1, -1) : target.host
    if (
      permit !== true &&
      addressKey(host) !== undefined &&
      isPrivateAddress(host) &&
      (permit === false || !permit.has(host))
    ) {
      reject(new KeyholeError('host_not_allowed', 'the target is a private, loopback or link-local address'))
      return
    }
    const signal = options.signal
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    let request: ClientRequest
    try {
      for (const name in dial.headers) {
        http.validateHeaderName(name)
        http.validateHeaderValue(name, dial.headers[name] as string)
      }
      const secure = target.scheme === 'https'
      request = (secure ? process.getBuiltinModule('node:https') : http).request({
        agent: false,
        host,
        port: target.port,
        path: dial.path,
        method: 'GET',
        lookup: lookupFor(permit, options.lookup),
        ...(secure && options.ca !== undefined && { ca: options.ca as string[] }),
      })
      // Set after construction: NODE_DEBUG=http prints request options, and these hold credentials.
      for (const name in dial.headers) request.setHeader(name, dial.headers[name] as string)
    } catch (error) {
      reject(error)
      return
    }
    let settled = false
    const timeoutMs = options.timeoutMs
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            request.destroy(
              new KeyholeError(
                'upstream_timeout',
                `the upstream did not answer the WebSocket handshake within ${timeoutMs} ms`,
              ),
            )
          }, timeoutMs)
        : undefined
    const onAbort = () => request.destroy(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    const settle = () => {
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    request.on('upgrade', (response: IncomingMessage, socket: Duplex, head: Buffer) => {
      settle()
      // Frames are small writes both ways: no Nagle delay (Node 20 leaves it on for TLS sockets).
      ;(socket as { setNoDelay?: (noDelay: boolean) => unknown }).setNoDelay?.(true)
      resolve({ switched: true, response, socket, head })
    })
    request.on('response', (response: IncomingMessage) => {
      settle()
      resolve({ switched: false, response })
    })
    request.on('error', (error) => {
      if (settled) return
      settle()
      reject(error)
    })
    request.on('close', () => {
      if (settled) return
      settle()
      reject(
        new KeyholeError('upstream_unreachable', 'the upstream closed the connection without a response'),
      )
    })
    request.end()
  })
}
