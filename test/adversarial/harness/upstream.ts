// The adversarial suites' view of the kit's recording upstream: every hit as wire text, and which
// hits carry a given value — the "where did the credential go" check. Its default answer names
// the upstream and reflects nothing, so a credential never comes back by way of the echo.
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  type Recorded,
  startUpstream,
  type Upstream,
  type UpstreamOptions,
} from '../../../packages/core/test/kit/index.js'

/** One request as an upstream received it, raw. */
export type Hit = Recorded

/**
 * A route: answers the request itself and returns true, or returns false for the default echo.
 * Routes under `/live` run as soon as the head arrives (to stream or hang); others after the body.
 */
export type Route = (req: IncomingMessage, res: ServerResponse, hit: Hit) => boolean | Promise<boolean>

/** A recording upstream with leak lookups. */
export interface Recorder extends Omit<Upstream, 'route'> {
  /** Every request received (the kit's `received`). */
  readonly hits: Hit[]
  /** The whole request (request line, headers, body) of every hit, as text. */
  texts(): string[]
  /** Hits whose request line, headers or body contain `value`. */
  carrying(value: string): Hit[]
  /** Answers requests whose path starts with `prefix` with `route`. */
  route(prefix: string, route: Route): void
}

export type RecorderOptions = { name: string } & Pick<UpstreamOptions, 'host' | 'port'>

/** A hit as the text an eavesdropper on the upstream connection would read. */
export function hitText(hit: Hit): string {
  const lines = [`${hit.method} ${hit.url}`]
  for (let i = 0; i < hit.rawHeaders.length; i += 2)
    lines.push(`${hit.rawHeaders[i]}: ${hit.rawHeaders[i + 1]}`)
  return `${lines.join('\n')}\n\n${hit.body.toString('latin1')}`
}

/** Starts a recording upstream. The default answer is 200 with a JSON echo of name, method and target. */
export async function startRecorder(options: RecorderOptions): Promise<Recorder> {
  const upstream = await startUpstream({
    ...options,
    answer: (_req, res, hit) => {
      const body = JSON.stringify({ upstream: options.name, method: hit.method, url: hit.url })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    },
  })
  const addRoute = upstream.route // the kit's, before it is wrapped below
  return Object.assign(upstream, {
    hits: upstream.received,
    texts: () => upstream.received.map(hitText),
    carrying: (value: string) => upstream.received.filter((hit) => hitText(hit).includes(value)),
    route(prefix: string, route: Route) {
      const live = prefix.startsWith('/live')
      addRoute(prefix, async (req, res, hit) => {
        if (!live) await hit.ended
        return route(req, res, hit)
      })
    },
  })
}
