// Serves a web-standard handler on 127.0.0.1 with the running runtime's own server API: the point
// is to exercise each runtime's real HTTP stack, not a shared Node shim.

/**
 * @param {(request: Request) => Promise<Response>} handle
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function serve(handle) {
  const { Bun, Deno } = /** @type {any} */ (globalThis)
  if (Bun) {
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: handle })
    return { url: `http://127.0.0.1:${server.port}`, close: async () => server.stop(true) }
  }
  if (Deno) {
    // onListen given so Deno does not print its "Listening on" line into the results.
    const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, handle)
    return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() }
  }
  return serveNode(handle)
}

/** node:http has no web-standard server API on Node 20: adapt one request at a time. */
async function serveNode(handle) {
  const { createServer } = await import('node:http')
  const server = createServer(async (req, res) => {
    try {
      const chunks = []
      for await (const chunk of req) chunks.push(chunk)
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
      const request = new Request(`http://127.0.0.1${req.url}`, {
        method: req.method,
        headers: /** @type {Record<string, string>} */ (req.headers),
        body: hasBody ? Buffer.concat(chunks) : undefined,
      })
      const response = await handle(request)
      res.writeHead(response.status, Object.fromEntries(response.headers))
      res.end(Buffer.from(await response.arrayBuffer()))
    } catch (error) {
      res.writeHead(500).end(String(error))
    }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  }
}
