import {
  type ClientRequest,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http'
import type { Readable } from 'node:stream'

export interface RawRequestOptions {
  method?: string
  /** Header list sent exactly as given (names, case, order, repeats). */
  headers?: Array<[string, string]> | Record<string, string | undefined>
  body?: string | Buffer | Readable
  signal?: AbortSignal
  /** Receives the ClientRequest (to destroy it mid-upload). */
  onRequest?: (request: ClientRequest) => void
}

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  text(): string
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  json(): any
}

/**
 * Sends one request with node:http so that the request target reaches the server byte for byte
 * (fetch would normalize `..`, encode characters and merge headers). `url` is an absolute URL
 * whose path+query part is sent verbatim.
 */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = openRequest(url, options, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text: () => body.toString('utf8'),
          json: () => JSON.parse(body.toString('utf8')),
        })
      })
    })
    req.on('error', reject)
  })
}

/** Like {@link rawRequest} but hands back the streaming response as soon as its head arrives. */
export function streamRequest(url: string, options: RawRequestOptions = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = openRequest(url, options, resolve)
    req.on('error', reject)
  })
}

function openRequest(url: string, options: RawRequestOptions, onResponse: (res: IncomingMessage) => void) {
  const { origin, hostname, port, host } = new URL(url)
  // Everything after the origin, untouched.
  const path = url.slice(origin.length) || '/'
  const list = Array.isArray(options.headers)
    ? options.headers
    : (Object.entries(options.headers ?? {}).filter(([, v]) => v !== undefined) as Array<[string, string]>)
  // A raw header list is sent as it is, so the Host header node:http would add must be in it.
  const has = (name: string) => list.some(([n]) => n.toLowerCase() === name)
  const headers = has('host') ? list.flat() : ['Host', host, ...list.flat()]
  const body = options.body
  if ((typeof body === 'string' || Buffer.isBuffer(body)) && !has('content-length')) {
    headers.push('Content-Length', String(Buffer.byteLength(body)))
  }
  const req = httpRequest(
    { hostname, port, path, method: options.method ?? 'GET', headers, agent: false, signal: options.signal },
    onResponse,
  )
  options.onRequest?.(req)
  if (body === undefined) req.end()
  else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body)
  else body.pipe(req)
  return req
}
