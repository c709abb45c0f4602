// @keyhole/hono/node: the Node fast path of the Hono adapter, for apps served by @hono/node-server.
import { createProxy } from '@keyhole/core'
import {
  type ClosableResponse,
  closeSignal,
  type IncomingMessageLike,
  requestFromIncoming,
} from '@keyhole/core/node'
import type { Handler } from 'hono'
import { type KeyholeOptions, type NodeBindings, rawUrl } from './keyhole.js'
import { pathBelowMount } from './mount-path.js'

export type { KeyholeOptions } from './keyhole.js'

/**
 * `keyhole()` for Hono on `@hono/node-server`: the engine reads the Node request itself — its
 * `rawHeaders` in one pass, its body piped straight upstream by the node forwarder — and learns
 * that the client went away from the Node response, instead of having the server build a web
 * `Request`, `Headers` and a body stream for every call. Same options and same rules as the
 * universal `keyhole()`.
 *
 * The Node request is what the client sent: a header that a middleware before this handler set on
 * `c.req.raw` is not seen (use the universal `keyhole` from `@keyhole/hono` when a middleware
 * rewrites the request, e.g. to put a token from a session into it). When a middleware already read
 * the body, or on another runtime, this handler falls back to `c.req.raw`.
 *
 * @example
 * ```ts
 * import { serve } from '@hono/node-server'
 * import { createNodeForwarder } from '@keyhole/core/node'
 * import { keyhole } from '@keyhole/hono/node'
 *
 * app.all('/proxy/*', keyhole({ opener, forward: createNodeForwarder() }))
 * serve({ fetch: app.fetch, port: 8787 })
 * ```
 */
export function keyhole(options: KeyholeOptions): Handler {
  const handle = createProxy(options)
  // The node forwarder pipes a Node request body itself; any other forwarder gets a web stream.
  const nodeStreams = options?.forward?.capabilities?.takesNodeStreams === true
  return (c) => {
    const url = rawUrl(c)
    const path = pathBelowMount(url, c.req.routePath)
    const bindings = c.env as NodeBindings | undefined
    const outgoing = bindings?.outgoing
    if (!outgoing || typeof outgoing.once !== 'function') return handle(c.req.raw, { path })
    // The client going away is learnt from the Node response, not from request.signal, which
    // would make the server build a full Request for every GET.
    const signal = closeSignal(outgoing as ClosableResponse)
    const incoming = bindings.incoming as (IncomingMessageLike & NodeBindings['incoming']) | undefined
    const request =
      incoming && url === incoming.url && bodyUnread(incoming)
        ? requestFromIncoming(incoming, signal, nodeStreams)
        : c.req.raw
    // A body that fails once it is flowing is cut here, so the server neither logs a stack nor
    // appends an error text to a body the client might take for complete.
    const abort =
      typeof outgoing.destroy === 'function' ? () => (outgoing as { destroy(): void }).destroy() : undefined
    return handle(request, abort ? { path, signal, abort } : { path, signal })
  }
}

/** A body nothing has started to read yet (or none at all): the Node request can be forwarded as is. */
function bodyUnread(incoming: IncomingMessageLike & { readableDidRead?: boolean; method?: string }): boolean {
  if (!Array.isArray(incoming.rawHeaders)) return false
  const method = incoming.method
  return method === 'GET' || method === 'HEAD' || incoming.readableDidRead !== true
}
