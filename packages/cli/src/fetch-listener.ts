import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { errorResponse } from '@keyhole/core'

/** A web-standard handler, as `@hono/node-server` takes it (`app.fetch`). */
export type FetchHandler = (request: Request, env: unknown) => Response | Promise<Response>

// Exactly what core's admin route answers (`Response.json({ status: 'ok' })` with no-store), as
// @hono/node-server writes it, byte for byte.
const HEALTHZ_BODY = '{"status":"ok"}'
const HEALTHZ_HEADERS = {
  'cache-control': 'no-store',
  'content-type': 'application/json',
  'content-length': String(HEALTHZ_BODY.length),
}

/**
 * A node:http request listener for `fetch`, made by `@hono/node-server`'s `getRequestListener`,
 * which is loaded with the first request that needs it rather than at start: importing it loads
 * Node's fetch implementation (undici), several MB and tens of ms of startup that a proxy which
 * has so far only been probed for liveness does not need. For the same reason `GET /healthz` is
 * answered here, as core's route answers it, without building a web `Request` or `Response`.
 *
 * @example
 * ```ts
 * const server = createServer(createFetchListener((request, env) => app.fetch(request, env)))
 * ```
 */
export function createFetchListener(fetch: FetchHandler): RequestListener {
  let loading: Promise<RequestListener> | undefined
  const load = () => {
    loading ??= import('@hono/node-server').then(
      ({ getRequestListener }) =>
        getRequestListener(fetch, { errorHandler: requestError }) as RequestListener,
      (error: unknown) => {
        loading = undefined
        throw error
      },
    )
    return loading
  }
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && isHealthz(req.url)) {
      res.writeHead(200, HEALTHZ_HEADERS).end(HEALTHZ_BODY)
      return
    }
    load().then(
      (listener) => listener(req, res),
      () => {
        // The module is part of this package: failing to load it means a broken install.
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
        res.end('keyhole: could not load @hono/node-server\n')
      },
    )
  }
}

/**
 * What @hono/node-server answers when it cannot build a request (a backslash in the path, a bad
 * Host) or the app throws: keyhole's JSON error instead of a bare 400 or 500, so a client sees
 * `X-Keyhole-Error` as for any other refusal. Nothing of the request is echoed.
 */
function requestError(error: unknown): Response {
  if (error instanceof Error && error.name === 'RequestError') {
    return errorResponse('bad_target', 'the target URL is not valid')
  }
  return new Response(null, { status: 500 })
}

function isHealthz(url: string | undefined): boolean {
  return url === '/healthz' || url?.startsWith('/healthz?') === true
}
