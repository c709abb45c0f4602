// A recording upstream built on web-standard Request/Response only, so each runtime can serve it
// with its own server API (Bun.serve, Deno.serve, node:http). Checks read what it received over
// HTTP (GET /__seen) rather than in memory, because under workerd the upstream lives in the Node
// host process while the checks run inside the worker.

/** @returns {{ handle: (request: Request) => Promise<Response> }} */
export function createUpstream() {
  /** @type {Array<{ method: string, path: string, headers: Record<string, string>, body: string }>} */
  let seen = []
  return {
    async handle(request) {
      const url = new URL(request.url)
      if (url.pathname === '/__seen') {
        // Read and clear, so each check sees only the requests it caused.
        const out = seen
        seen = []
        return Response.json(out)
      }
      /** @type {Record<string, string>} */
      const headers = {}
      request.headers.forEach((value, name) => {
        headers[name] = value
      })
      seen.push({
        method: request.method,
        path: url.pathname + url.search,
        headers,
        body: await request.text(),
      })
      return Response.json({ ok: true }, { headers: { 'x-upstream': 'recorder' } })
    },
  }
}
