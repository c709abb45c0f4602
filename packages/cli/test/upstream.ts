// A real upstream on 127.0.0.1 for the serve tests: records what reaches it, and can hold a
// request open until the test releases it (to have a request in flight during a reload).
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  method: string
  url: string
  headers: IncomingHttpHeaders
}

export interface Upstream {
  /** `http://127.0.0.1:<port>` */
  origin: string
  /** `127.0.0.1:<port>`, as it appears in an open-mode proxy path. */
  hostPort: string
  received: Received[]
  /** Resolves when a request for /slow has arrived; call the returned function to answer it. */
  slowArrived(): Promise<() => void>
  close(): Promise<void>
}

export async function startUpstream(): Promise<Upstream> {
  const received: Received[] = []
  let onSlow: ((release: () => void) => void) | undefined
  const pendingSlow: Array<() => void> = []
  const server = createServer((req, res) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    req.resume()
    if (req.url?.startsWith('/slow')) {
      // Nothing is sent until the test releases it: the proxy is waiting for the headers.
      const release = () => {
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.end('slow answer')
      }
      if (onSlow) onSlow(release)
      else pendingSlow.push(release)
      return
    }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ ok: true, path: req.url }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    received,
    slowArrived: () =>
      new Promise((resolve) => {
        const waiting = pendingSlow.shift()
        if (waiting) resolve(waiting)
        else
          onSlow = (release) => {
            onSlow = undefined
            resolve(release)
          }
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
