import { type Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { connect } from 'node:net'
import { observe } from './secrets.js'

export interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: string
  /** The `X-Keyhole-Error` code when keyhole itself answered. */
  code: string | undefined
}

export interface SendOptions {
  method?: string
  /** Sent exactly as given: names, case, order and repeats. */
  headers?: [string, string][]
  body?: string | Buffer
  agent?: Agent | false
  /** Give up (and destroy the request) after this many ms. Default 20 s. */
  timeoutMs?: number
}

/**
 * Sends one request with node:http so that the request target reaches the proxy byte for byte:
 * `url` is an absolute URL whose path and query are put on the request line untouched.
 * Every response keyhole produced itself (it carries X-Keyhole-Error) is recorded for the leak check.
 */
export function send(url: string, options: SendOptions = {}): Promise<Reply> {
  const authorityEnd = url.indexOf('/', url.indexOf('//') + 2)
  const origin = authorityEnd === -1 ? url : url.slice(0, authorityEnd)
  const path = authorityEnd === -1 ? '/' : url.slice(authorityEnd)
  const { hostname, port, host } = new URL(origin)
  const given = options.headers ?? []
  // With a raw header list node adds no Host header of its own; add it unless the test sends one.
  const headers = given.some(([name]) => name.toLowerCase() === 'host')
    ? given
    : [['Host', host] as [string, string], ...given]
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        method: options.method ?? 'GET',
        path,
        headers: headers.flat(),
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          const code = res.headers['x-keyhole-error'] as string | undefined
          if (code !== undefined)
            observe(`response:${code}`, `${res.statusCode} ${JSON.stringify(res.headers)}\n${body}`)
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, code })
        })
      },
    )
    req.setTimeout(options.timeoutMs ?? 20_000, () => req.destroy(new Error('client timeout')))
    req.on('error', reject)
    req.end(options.body)
  })
}

/**
 * Writes `raw` (a whole HTTP exchange, any bytes) to a TCP connection and collects what comes
 * back until the server closes the connection or `quietMs` pass without data.
 */
export function rawExchange(port: number, raw: string | Buffer, quietMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let timer: NodeJS.Timeout | undefined
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      const text = Buffer.concat(chunks).toString('latin1')
      if (/x-keyhole-error/i.test(text)) observe('raw-response', text)
      resolve(text)
    }
    const arm = () => {
      clearTimeout(timer)
      timer = setTimeout(finish, quietMs)
    }
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      arm()
    })
    socket.on('error', () => {})
    socket.on('close', finish)
    socket.on('connect', () => {
      socket.write(raw)
      arm()
    })
  })
}

/** Status codes of every HTTP response in a raw exchange, in order. */
export function statuses(raw: string): number[] {
  return [...raw.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]))
}

export interface RawReply {
  /** Status of the first response, or 0 when the connection closed without one. */
  status: number
  code: string | undefined
  body: string
  raw: string
}

/**
 * Sends one request written by hand (request line and header bytes exactly as given, UTF-8 for
 * anything non-ASCII) and parses the first response: for targets and headers no HTTP client
 * library would send.
 */
export async function rawRequest(
  port: number,
  request: { method?: string; target: string; headers?: [string, string][]; body?: string },
): Promise<RawReply> {
  const headers = request.headers ?? [['Host', `127.0.0.1:${port}`]]
  const lines = [
    `${request.method ?? 'GET'} ${request.target} HTTP/1.1`,
    ...headers.map(([n, v]) => `${n}: ${v}`),
  ]
  if (request.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(request.body)}`)
  lines.push('Connection: close', '', request.body ?? '')
  const raw = await rawExchange(port, Buffer.from(lines.join('\r\n'), 'utf8'))
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0)
  const code = /\r\nx-keyhole-error: ([a-z_]+)/i.exec(raw)?.[1]
  const bodyStart = raw.indexOf('\r\n\r\n')
  return { status, code, body: bodyStart === -1 ? '' : raw.slice(bodyStart + 4), raw }
}
