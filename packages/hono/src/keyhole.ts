import { createProxy, type ProxyOptions } from '@keyhole/core'
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
 * byte-exact path and a check of the address actually dialed — and use `keyhole` from
 * `@keyhole/hono/node`, which also reads the Node request itself instead of a web `Request`. The default is `fetch`, which
 * cannot check the address it dials: in open mode it then needs `allowHosts`, except on runtimes
 * whose `fetch` cannot reach private networks (Cloudflare Workers).
 *
 * @example
 * ```ts
 * import { createNodeForwarder } from '@keyhole/core/node'
 * import { Hono } from 'hono'
 * import { keyhole } from '@keyhole/hono'
 *
 * const app = new Hono()
 * app.all('/proxy/*', keyhole({ opener, forward: createNodeForwarder() })) // on Node
 * app.all('/github/*', keyhole({ opener, upstream: 'https://api.github.com' })) // gateway mode, any runtime
 * // GET /proxy/https/api.github.com/user  with  X-Keyhole-Token: <token>
 * ```
 */
export function keyhole(options: KeyholeOptions): Handler {
  const handle = createProxy(options)
  return (c) => {
    const path = pathBelowMount(rawUrl(c), c.req.routePath)
    // On Deno, c.env is Deno.serve's info: its `completed` promise tells the engine the client
    // went away without reading request.signal (which makes Deno print a warning).
    const completed = (c.env as { completed?: unknown } | undefined)?.completed
    return handle(c.req.raw, completed instanceof Promise ? { path, completed } : { path })
  }
}

/** What `@hono/node-server` puts in `c.env`, read by shape: no Node API is imported here. */
export interface NodeBindings {
  incoming?: { url?: unknown; rawHeaders?: unknown; readableDidRead?: boolean; method?: string }
  outgoing?: { once?: unknown; writableFinished?: boolean; destroy?: unknown }
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
