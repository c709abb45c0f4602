import { type ClosableResponse, closeSignal, createProxy, type ProxyOptions } from '@keyhole/core'
import type { Context, Handler } from 'hono'
import { pathBelowMount } from './mount-path.js'

/** Options of {@link keyhole}: exactly the engine's (`createProxy`) options. */
export type KeyholeOptions = ProxyOptions

/**
 * The keyhole proxy engine as a Hono handler. Mount it on a route ending in `/*`; the raw path
 * and query below the mount point (percent-encoding untouched) is what the engine reads the
 * target from: `/{scheme}/{host[:port]}/{path}` in open mode, or the path appended to
 * `upstream` in gateway mode. Everything security-relevant (token, policy, revocation, expiry,
 * header stripping, credential injection) happens inside the engine.
 *
 * On Node, pass `forward: createNodeForwarder()` from `@keyhole/core/node` for speed, a
 * byte-exact path and a check of the address actually dialed; the default is `fetch`.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { keyhole } from '@keyhole/hono'
 *
 * const app = new Hono()
 * app.all('/proxy/*', keyhole({ opener }))
 * // GET /proxy/https/api.github.com/user  with  X-Keyhole-Token: <token>
 * ```
 */
export function keyhole(options: KeyholeOptions): Handler {
  const handle = createProxy(options)
  return (c) => {
    const signal = clientSignal(c)
    const path = pathBelowMount(rawUrl(c), c.req.routePath)
    return handle(c.req.raw, signal ? { path, signal } : { path })
  }
}

interface NodeBindings {
  incoming?: { url?: unknown }
  outgoing?: { once?: unknown; writableFinished?: boolean }
}

/**
 * The request target as the client sent it. `@hono/node-server` rebuilds `c.req.url` with the
 * WHATWG URL parser, which resolves `..` and percent-encodes characters such as `'` in the
 * query; the engine must see (and forward) the target byte for byte, so when the server hands
 * over its Node request (`c.env.incoming`) its raw `url` is used, provided it is the request
 * Hono routed (parsing it the way the server did gives `c.req.url`; a host framework that
 * rewrote the path before Hono saw it keeps `c.req.url`). Found by shape: no Node API is
 * imported, and other runtimes use `c.req.url`.
 */
export function rawUrl(c: Context): string {
  const url = c.req.url
  const raw = (c.env as NodeBindings | undefined)?.incoming?.url
  if (typeof raw !== 'string' || raw.charCodeAt(0) !== 47 /* / */) return url
  const pathStart = url.indexOf('/', url.indexOf('://') + 3)
  if (url.length - raw.length === pathStart && url.endsWith(raw)) return raw
  try {
    return new URL(raw, url).href === url ? raw : url
  } catch {
    return url
  }
}

/**
 * When the runtime hands the response stream to the handler (`@hono/node-server` puts it in
 * `c.env.outgoing`), learns about a client that went away from it instead of from
 * `request.signal`, which would make the server build a full `Request` for every GET. Found by
 * shape, so no Node API is imported; elsewhere the engine uses `request.signal`.
 */
function clientSignal(c: Context): AbortSignal | undefined {
  const outgoing = (c.env as NodeBindings | undefined)?.outgoing
  if (!outgoing || typeof outgoing.once !== 'function') return undefined
  return closeSignal(outgoing as ClosableResponse)
}
