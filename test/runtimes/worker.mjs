// Entry point for workerd (Miniflare): one request runs the suite inside the worker and answers
// with the results. The upstream is a Node server in the host process, reached through workerd's
// ordinary outbound fetch; scripts/runtimes.mjs passes its URL as the UPSTREAM_URL binding.
import { runChecks } from './run.mjs'
import { checks } from './suite.mjs'

export default {
  /** @param {Request} _request @param {{ UPSTREAM_URL: string }} env */
  async fetch(_request, env) {
    const lines = []
    const result = await runChecks(checks, { upstreamUrl: env.UPSTREAM_URL }, (line) => lines.push(line))
    return Response.json({ ...result, lines })
  },
}
