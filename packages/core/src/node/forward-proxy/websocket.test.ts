// WebSockets in forward-proxy mode with a real `ws` client: `ws://` as an absolute-form upgrade
// (what a client sends through HTTP_PROXY) and `wss://` inside a CONNECT tunnel, against the
// harness's real ws/wss echo upstreams on 127.0.0.1.
import { once } from 'node:events'
import http, { type ClientRequest, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { basic, connectTunnel, type Harness, rawExchange, startHarness } from './harness.fixture.js'

let h: Harness
let token: string
const SECRET = 'forward-websocket-secret-0815'
const MASKED = '*'.repeat(`Bearer ${SECRET}`.length)

beforeAll(async () => {
  h = await startHarness()
  token = await h.token([`http://127.0.0.1:${h.httpPort}`, `upstream.test:${h.httpsPort}`], SECRET)
})
afterAll(() => h.close())

/**
 * What an HTTP_PROXY-aware client does for `ws://`: connect to the proxy and send the handshake
 * with the absolute URL as request target (`scheme` `ws` or `http`) and `Proxy-Authorization`.
 */
class AbsoluteFormAgent extends http.Agent {
  constructor(
    private readonly proxyPort: number,
    private readonly proxyAuthorization: string | undefined,
    private readonly scheme: 'ws' | 'http',
  ) {
    super({ keepAlive: false })
  }

  addRequest(req: ClientRequest, options: http.ClientRequestArgs): void {
    req.path = `${this.scheme}://${options.host}:${options.port}${req.path}`
    if (this.proxyAuthorization !== undefined)
      req.setHeader('proxy-authorization', this.proxyAuthorization)
      // biome-ignore lint/suspicious/noExplicitAny: Agent#addRequest is not in Node's typings
    ;(http.Agent.prototype as any).addRequest.call(this, req, {
      ...options,
      host: '127.0.0.1',
      port: this.proxyPort,
    })
  }
}

interface Refused {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** An open WebSocket and its messages; the inbox is attached before the handshake, so none is missed. */
interface Open {
  ws: WebSocket
  next: () => Promise<string>
}

function open(url: string, options: WebSocket.ClientOptions): Promise<Open | Refused> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options)
    const next = inbox(ws)
    ws.once('open', () => resolve({ ws, next }))
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    ws.once('error', reject)
  })
}

/** Collects messages as they come, so none is missed between awaits. */
function inbox(ws: WebSocket): () => Promise<string> {
  const queued: string[] = []
  const waiting: ((message: string) => void)[] = []
  ws.on('message', (data: Buffer) => {
    const next = waiting.shift()
    if (next) next(data.toString())
    else queued.push(data.toString())
  })
  return () =>
    new Promise((resolve) => {
      const message = queued.shift()
      if (message !== undefined) resolve(message)
      else waiting.push(resolve)
    })
}

function lastHandshake(path: string) {
  const seen = h.seen.filter((s) => s.url === path).at(-1)
  expect(seen, `upstream saw the handshake for ${path}`).toBeDefined()
  const raw = seen!.rawHeaders.join('\n')
  expect(raw).not.toContain(token.slice(0, 40))
  expect(seen!.headers['proxy-authorization']).toBeUndefined()
  expect(seen!.headers['x-keyhole-token']).toBeUndefined()
  return seen!
}

async function echoAndClose({ ws, next }: Open, path: string): Promise<void> {
  expect(await next()).toBe(MASKED)
  expect(lastHandshake(path).headers.authorization).toBe(`Bearer ${SECRET}`)
  ws.send('hello upstream')
  expect(await next()).toBe('hello upstream')
  ws.send(Buffer.from([0, 1, 2, 255]), { binary: true })
  expect(await next()).toBe(Buffer.from([0, 1, 2, 255]).toString())
  // The client's close reaches the upstream with its code.
  const closes = h.websocketCloses.length
  ws.close(1000)
  const [code] = (await once(ws, 'close')) as [number]
  expect(code).toBe(1000)
  await expect.poll(() => h.websocketCloses.slice(closes)).toEqual([1000])
}

describe('ws:// through the proxy as an absolute-form upgrade', () => {
  for (const scheme of ['ws', 'http'] as const) {
    it(`GET ${scheme}://host/path: authorized, stripped, injected, frames both ways, close propagates`, async () => {
      const path = `/ws-absolute-${scheme}?q=1`
      const opened = await open(`ws://127.0.0.1:${h.httpPort}${path}`, {
        agent: new AbsoluteFormAgent(h.proxyPort, basic(token), scheme),
      })
      if (!('ws' in opened)) throw new Error(`refused: ${opened.status} ${opened.body}`)
      await echoAndClose(opened, path)
    })
  }

  it("passes the upstream's close code back to the client", async () => {
    const opened = await open(`ws://127.0.0.1:${h.httpPort}/ws-upstream-closes`, {
      agent: new AbsoluteFormAgent(h.proxyPort, basic(token), 'ws'),
    })
    if (!('ws' in opened)) throw new Error(`refused: ${opened.status}`)
    const { ws, next } = opened
    expect(await next()).toBe(MASKED)
    ws.send('bye')
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer]
    expect(code).toBe(4000)
    expect(reason.toString()).toBe('bye')
  })

  it('answers 407 with Proxy-Authenticate without a token, and dials nothing', async () => {
    const before = h.connections().http
    const result = await open(`ws://127.0.0.1:${h.httpPort}/ws-no-token`, {
      agent: new AbsoluteFormAgent(h.proxyPort, undefined, 'ws'),
    })
    if ('ws' in result) throw new Error('opened')
    expect(result.status).toBe(407)
    expect(result.headers['proxy-authenticate']).toBe('Basic realm="keyhole"')
    expect(result.headers['x-keyhole-error']).toBe('missing_token')
    expect(h.connections().http).toBe(before)
  })

  it('refuses a host no token names with 403 host_not_allowed, whatever Host says', async () => {
    const before = h.connections()
    const answer = await rawExchange(
      h.proxyPort,
      `GET ws://127.0.0.1:${h.httpsPort}/ws-other HTTP/1.1\r\nHost: 127.0.0.1:${h.httpPort}\r\n` +
        `Proxy-Authorization: ${basic(token)}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
    expect(answer).toMatch(/^HTTP\/1\.1 403 [\s\S]*x-keyhole-error: host_not_allowed/i)
    expect(h.connections()).toEqual(before)
  })
})

describe('wss:// inside a CONNECT tunnel', () => {
  async function tunnel(): Promise<tls.TLSSocket> {
    const { head, socket } = await connectTunnel(h.proxyPort, `upstream.test:${h.httpsPort}`, basic(token))
    expect(head).toMatch(/^HTTP\/1\.1 200 /)
    const secure = tls.connect({ socket, servername: 'upstream.test', ca: h.ca.certificate })
    await once(secure, 'secureConnect')
    return secure
  }

  it('authorized, stripped, injected, frames both ways, close propagates', async () => {
    const secure = await tunnel()
    const path = '/wss-tunnel'
    const opened = await open(`wss://upstream.test:${h.httpsPort}${path}`, {
      createConnection: () => secure as unknown as Socket,
    })
    if (!('ws' in opened)) throw new Error(`refused: ${opened.status} ${opened.body}`)
    await echoAndClose(opened, path)
  })

  it("passes the upstream's close code back to the client", async () => {
    const secure = await tunnel()
    const opened = await open(`wss://upstream.test:${h.httpsPort}/wss-upstream-closes`, {
      createConnection: () => secure as unknown as Socket,
    })
    if (!('ws' in opened)) throw new Error(`refused: ${opened.status}`)
    const { ws, next } = opened
    expect(await next()).toBe(MASKED)
    ws.send('bye')
    const [code] = (await once(ws, 'close')) as [number]
    expect(code).toBe(4000)
  })
})
