import http, { type ClientRequest, type IncomingMessage } from 'node:http'
import type https from 'node:https'
import type net from 'node:net'
import { Duplex, pipeline, Readable } from 'node:stream'
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web'
import { KeyholeError } from '../errors.js'
import { addressKey, isPrivateAddress, type PrivateAddressPermit } from '../proxy/address-guard.js'
import type { AddressRanges } from '../proxy/address-ranges.js'
import type { Forwarder, ForwarderCapabilities, ForwardInit, ForwardTarget } from '../proxy/forward-fetch.js'
import { createGuardedLookup, type Lookup } from './guarded-lookup.js'
import { toWebResponse } from './incoming-response.js'

/** Options of {@link createNodeForwarder}. */
export interface NodeForwarderOptions {
  /**
   * Options for the forwarder's `http.Agent`s and `https.Agent`s (TLS options such as `ca` go
   * here too). Default: `{ keepAlive: true, scheduling: 'lifo' }`; yours are merged over it.
   * A `lookup` here is ignored; use {@link NodeForwarderOptions.lookup}.
   */
  agent?: http.AgentOptions & https.AgentOptions
  /**
   * The resolver, in the shape of `dns.lookup`. Default `dns.lookup`. Whatever it returns is
   * checked: a private, loopback or link-local answer fails the request with `host_not_allowed`.
   */
  lookup?: Lookup
  /**
   * Dial private, loopback and link-local addresses for every request. Default `false`: only
   * when the engine says the request may (the grant names the address literally, gateway mode,
   * or the proxy's own `allowPrivateAddresses`, whose ranges it then applies to every address).
   */
  allowPrivateAddresses?: boolean
}

/** The node forwarder; `destroy()` closes its pooled connections. */
export interface NodeForwarder extends Forwarder {
  /** `appliesTimeout`, `takesNodeStreams`, `cleanResponses` and `checksDialedAddress`. */
  readonly capabilities: ForwarderCapabilities
  /** Closes every pooled keep-alive connection (for shutdown and tests). */
  destroy(): void
}

// node:https (and with it node:tls) and node:zlib are taken with process.getBuiltinModule on first
// use, not imported: a proxy that only talks to plain-HTTP upstreams, or has not yet, does not hold
// them (about 1.6 MB of RSS). Node keeps each loaded module, so later calls are a lookup.

function targetFromUrl(url: string): ForwardTarget {
  const parsed = new URL(url)
  const scheme = parsed.protocol === 'https:' ? 'https' : parsed.protocol === 'http:' ? 'http' : undefined
  if (!scheme) throw new KeyholeError('bad_target', 'only http and https targets are supported')
  const port = parsed.port ? Number(parsed.port) : scheme === 'https' ? 443 : 80
  return {
    scheme,
    host: parsed.hostname,
    port,
    path: parsed.pathname + parsed.search,
    privateAddresses: false,
  }
}

const NODE_CAPABILITIES: ForwarderCapabilities = Object.freeze({
  // The engine hands it its timeout and the client's signal instead of wrapping every request in
  // an AbortController and a timer of its own.
  appliesTimeout: true,
  // A Node adapter can hand over the incoming request itself as the body; it is piped.
  takesNodeStreams: true,
  // toWebResponse builds responses without hop-by-hop or X-Keyhole-* headers.
  cleanResponses: true,
  // Node 20's DecompressionStream has no 'br'; the scrubber decodes brotli with zlib instead.
  contentDecoders: Object.freeze({
    br: () =>
      Duplex.toWeb(process.getBuiltinModule('node:zlib').createBrotliDecompress()) as ReadableWritablePair<
        Uint8Array,
        Uint8Array
      >,
  }),
  // Literal addresses before connecting, every DNS answer in the agent's lookup.
  checksDialedAddress: true,
})

function destroyForTimeout(request: ClientRequest, ms: number): void {
  request.destroy(
    new KeyholeError('upstream_timeout', `the upstream sent no response headers within ${ms} ms`),
  )
}

function isNodeReadable(body: unknown): body is Readable {
  return typeof (body as Readable | null)?.pipe === 'function'
}

/**
 * A forwarder on `node:http`/`node:https` with keep-alive agents, for Node entry points: it
 * sends the authorized path byte for byte, streams the request body in and the response body
 * out without buffering, never follows redirects, passes compressed bodies through untouched,
 * and checks the address it actually dials (a resolver answer that is private, loopback or
 * link-local fails with 403 `host_not_allowed`, so DNS rebinding cannot reach the proxy's
 * network). Connection failures reject (the engine answers 502 `upstream_unreachable`);
 * aborting `init.signal` destroys the upstream request; `init.keyhole.timeout` (set by the
 * engine) bounds connect plus response headers and rejects with `upstream_timeout`. A bodyless request that fails on a
 * reused keep-alive connection with `ECONNRESET` is retried once on a fresh one.
 *
 * @example
 * ```ts
 * import { createProxy } from '@keyhole/core'
 * import { createNodeForwarder } from '@keyhole/core/node'
 *
 * const handle = createProxy({ opener, forward: createNodeForwarder() })
 * ```
 */
export function createNodeForwarder(options: NodeForwarderOptions = {}): NodeForwarder {
  const base: http.AgentOptions & https.AgentOptions = {
    keepAlive: true,
    scheduling: 'lifo',
    ...options.agent,
  }
  delete (base as { lookup?: unknown }).lookup
  const openLookup = options.lookup
  const allowAll = options.allowPrivateAddresses === true
  // Requests with different address permits get agents of their own (one pair per range set, and
  // range sets are compiled once per proxy), so a pooled connection opened for one kind of
  // request is never reused for another.
  const makeAgent = (scheme: 'http' | 'https', lookup: Lookup | undefined): http.Agent => {
    const agentOptions = lookup ? { ...base, lookup } : base
    if (scheme === 'http') return new http.Agent(agentOptions)
    const agent = new (process.getBuiltinModule('node:https').Agent)(agentOptions)
    // Node 20 sets TCP_NODELAY on plain HTTP client sockets but not on TLS ones, so a body or
    // frame written in two pieces waits for a delayed ACK (~40 ms) before its second part goes.
    const connect = agent.createConnection.bind(agent) as (...args: unknown[]) => net.Socket
    agent.createConnection = (...args: unknown[]) => connect(...args).setNoDelay(true)
    return agent
  }
  const agents: Record<string, http.Agent | undefined> = {}
  const rangedAgents = new Map<AddressRanges, Record<string, http.Agent | undefined>>()
  const agentFor = (scheme: 'http' | 'https', permit: PrivateAddressPermit): http.Agent => {
    if (permit === true || permit === false) {
      const key = `${scheme}:${permit}`
      let agent = agents[key]
      if (!agent) {
        agent = makeAgent(scheme, permit ? openLookup : createGuardedLookup(openLookup))
        agents[key] = agent
      }
      return agent
    }
    let pair = rangedAgents.get(permit)
    if (!pair) {
      pair = {}
      rangedAgents.set(permit, pair)
    }
    let agent = pair[scheme]
    if (!agent) {
      agent = makeAgent(scheme, createGuardedLookup(openLookup, permit))
      pair[scheme] = agent
    }
    return agent
  }

  const send = (url: string, init: ForwardInit, retried: boolean): Promise<Response> =>
    new Promise((resolve, reject) => {
      const signal = init.signal
      if (signal?.aborted) {
        reject(signal.reason)
        return
      }
      const target = init.keyhole ?? targetFromUrl(url)
      const bracketed = target.host.startsWith('[')
      const host = bracketed ? target.host.slice(1, -1) : target.host
      const permit: PrivateAddressPermit = allowAll || (target.privateAddresses ?? false)
      if (
        permit !== true &&
        addressKey(host) !== undefined &&
        isPrivateAddress(host) &&
        (permit === false || !permit.has(host))
      ) {
        reject(
          new KeyholeError('host_not_allowed', 'the target is a private, loopback or link-local address'),
        )
        return
      }
      const body = init.body
      const method = init.method ?? 'GET'

      let request: ClientRequest
      try {
        // Checked first, so that a bad header fails before the request is handed to an agent.
        for (const name in init.headers) {
          http.validateHeaderName(name)
          http.validateHeaderValue(name, init.headers[name] as string)
        }
        request = (target.scheme === 'https' ? process.getBuiltinModule('node:https') : http).request({
          agent: agentFor(target.scheme, permit),
          host,
          port: target.port,
          path: target.path,
          method,
        })
        // Set after construction, not in the options: the http.Agent prints its options (headers
        // included) to NODE_DEBUG=http, and these headers hold the injected credentials.
        for (const name in init.headers) request.setHeader(name, init.headers[name] as string)
      } catch (error) {
        reject(error)
        return
      }

      let responded = false
      const onAbort = () => request.destroy(signal?.reason)
      signal?.addEventListener('abort', onAbort, { once: true })
      const timeout = target.timeout
      const timer = timeout ? setTimeout(destroyForTimeout, timeout, request, timeout) : undefined
      request.on('response', (incoming: IncomingMessage) => {
        responded = true
        clearTimeout(timer)
        // Once the response is over, a late abort must not reach a connection that is back in
        // the pool (and may be carrying someone else's request by then).
        incoming.once('close', () => signal?.removeEventListener('abort', onAbort))
        const status = incoming.statusCode ?? 0
        if (status < 200 || status > 599) {
          request.destroy()
          reject(new KeyholeError('upstream_unreachable', `the upstream answered with status ${status}`))
          return
        }
        // One microtask later the parser has finished with the packet that carried the headers,
        // so a small body that came with them is complete and can go on as bytes.
        queueMicrotask(() => {
          try {
            resolve(toWebResponse(incoming, method))
          } catch (error) {
            request.destroy()
            reject(error)
          }
        })
      })
      let failed = false
      // A request can also end with neither 'response' nor 'error' (an unsolicited 101 Switching
      // Protocols: node closes the socket silently), and a later destroy() is a no-op then.
      request.on('close', () => {
        if (responded || failed) return
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        reject(
          new KeyholeError('upstream_unreachable', 'the upstream closed the connection without a response'),
        )
      })
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (responded) return // the response body stream reports it
        failed = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        const retryable =
          !retried && body == null && request.reusedSocket && error.code === 'ECONNRESET' && !signal?.aborted
        if (retryable) send(url, init, true).then(resolve, reject)
        else reject(error)
      })

      if (body == null) {
        request.end()
      } else if (typeof body === 'string' || body instanceof Uint8Array) {
        request.end(body)
      } else {
        const source = isNodeReadable(body)
          ? body
          : Readable.fromWeb(body as unknown as NodeWebReadableStream<Uint8Array>)
        pipeline(source, request, (error) => {
          // The request's own 'error' handler rejects; a failed body source must not go unseen.
          if (error && !request.destroyed) request.destroy(error)
        })
      }
    })

  const forward = (url: string, init: ForwardInit) => send(url, init, false)
  return Object.assign(forward, {
    capabilities: NODE_CAPABILITIES,
    destroy() {
      for (const agent of Object.values(agents)) agent?.destroy()
      for (const pair of rangedAgents.values()) for (const agent of Object.values(pair)) agent?.destroy()
    },
  })
}
