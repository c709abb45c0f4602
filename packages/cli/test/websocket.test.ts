// A WebSocket through the built `keyhole serve` (open mode, and `ws://` through it as a forward
// proxy) to a real `ws` echo server on 127.0.0.1 that sends back the Authorization header it
// received; and serve's SIGTERM drain ending WebSockets still open.
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import http, { type ClientRequest, type IncomingMessage } from 'node:http'
import net from 'node:net'
import { join } from 'node:path'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { localhostTls, localhostTlsFiles, startUpstream, type Upstream } from '../../core/test/kit/index.js'
import { buildCli, forwardProxyFiles, type Served, serve, tempDir } from './cli.js'

const CREDENTIAL = 'serve-websocket-credential-0042'

let dir: string
let remove: () => Promise<void>
let upstream: Upstream
let port: number
// A wss echo server too, for WebSockets inside CONNECT tunnels.
let secure: Upstream
let securePort: number
let served: Served
let token: string

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  const wss = new WebSocketServer({ noServer: true })
  wss.on('connection', (socket, req: IncomingMessage) => {
    socket.send(req.headers.authorization ?? '(none)')
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
  })
  upstream = await startUpstream({ answer: (_req, res) => res.end() })
  secure = await startUpstream({ tls: localhostTls })
  for (const { server } of [upstream, secure]) {
    server.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
    )
  }
  port = upstream.port
  securePort = secure.port
  token = await forwardProxyFiles(dir, {
    hosts: [`http://127.0.0.1:${port}`, `127.0.0.1:${securePort}`],
    authorization: `Bearer ${CREDENTIAL}`,
  })
  served = await serve(['--keys', 'keys.json'], { cwd: dir })
}, 300_000)

/**
 * What an HTTP_PROXY-aware client does for `ws://`: the handshake goes to the proxy with the
 * absolute URL as request target and the token as the proxy password.
 */
class AbsoluteFormAgent extends http.Agent {
  constructor(
    private readonly proxy: URL,
    private readonly proxyToken: string,
  ) {
    super({ keepAlive: false })
  }

  addRequest(req: ClientRequest, options: http.ClientRequestArgs): void {
    req.path = `ws://${options.host}:${options.port}${req.path}`
    req.setHeader(
      'proxy-authorization',
      `Basic ${Buffer.from(`keyhole:${this.proxyToken}`).toString('base64')}`,
    )
    // biome-ignore lint/suspicious/noExplicitAny: Agent#addRequest is not in Node's typings
    ;(http.Agent.prototype as any).addRequest.call(this, req, {
      ...options,
      host: this.proxy.hostname,
      port: Number(this.proxy.port),
    })
  }
}

/** Opens a WebSocket, with an inbox attached before the handshake so no message is missed. */
async function connect(url: string, options: WebSocket.ClientOptions) {
  const ws = new WebSocket(url, options)
  const messages: string[] = []
  const waiting: ((message: string) => void)[] = []
  ws.on('message', (data: Buffer) => {
    const wake = waiting.shift()
    if (wake) wake(data.toString())
    else messages.push(data.toString())
  })
  const next = () =>
    new Promise<string>((resolve) => {
      const queued = messages.shift()
      if (queued !== undefined) resolve(queued)
      else waiting.push(resolve)
    })
  await once(ws, 'open')
  return { ws, next }
}

/** A CONNECT tunnel through `proxy` to `authority`, with TLS on it trusting keyhole's CA. */
async function tunnel(proxy: URL, authority: string, proxyToken: string): Promise<tls.TLSSocket> {
  const socket = net.connect(Number(proxy.port), proxy.hostname)
  await once(socket, 'connect')
  const auth = Buffer.from(`keyhole:${proxyToken}`).toString('base64')
  socket.write(
    `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`,
  )
  const [chunk] = (await once(socket, 'data')) as [Buffer]
  expect(chunk.toString('latin1')).toMatch(/^HTTP\/1\.1 200 /)
  const secured = tls.connect({ socket, host: '127.0.0.1', ca: await readFile(join(dir, 'ca.pem')) })
  await once(secured, 'secureConnect')
  return secured
}

afterAll(async () => {
  await served?.stop()
  await secure?.close()
  await upstream?.close()
  await remove?.()
})

describe('keyhole serve and WebSockets', () => {
  it('proxies an open-mode upgrade: credential injected, echoed credential masked, echo both ways', async () => {
    const url = `${served.url.replace(/^http/, 'ws')}/http/127.0.0.1:${port}/echo`
    const ws = new WebSocket(url, { headers: { 'x-keyhole-token': token } })
    const messages: string[] = []
    const next = () =>
      new Promise<string>((resolve) => {
        const queued = messages.shift()
        if (queued !== undefined) resolve(queued)
        else ws.once('message', () => resolve(messages.shift() as string))
      })
    ws.on('message', (data: Buffer) => messages.push(data.toString()))
    await once(ws, 'open')
    expect(await next()).toBe('*'.repeat(`Bearer ${CREDENTIAL}`.length))
    ws.send('hello through serve')
    expect(await next()).toBe('hello through serve')
    ws.close()
    await once(ws, 'close')
    await served.waitFor(/ 101 /)
  })

  it('proxies ws:// sent as an absolute-form upgrade (HTTP_PROXY), token from the proxy password', async () => {
    const { ws, next } = await connect(`ws://127.0.0.1:${port}/absolute`, {
      agent: new AbsoluteFormAgent(new URL(served.url), token),
    })
    expect(await next()).toBe('*'.repeat(`Bearer ${CREDENTIAL}`.length))
    ws.send('hello as a proxy client')
    expect(await next()).toBe('hello as a proxy client')
    ws.close()
    await once(ws, 'close')
  })

  it('ends open WebSockets on SIGTERM once the drain timeout is up, and exits 0', async () => {
    // The proxy's own wss dial trusts the test upstream's certificate through NODE_EXTRA_CA_CERTS.
    const draining = await serve(['--keys', 'keys.json', '--ca', 'ca.json', '--drain-timeout', '1s'], {
      cwd: dir,
      env: { NODE_EXTRA_CA_CERTS: localhostTlsFiles.cert },
    })
    try {
      const open = await connect(`${draining.url.replace(/^http/, 'ws')}/http/127.0.0.1:${port}/drain`, {
        headers: { 'x-keyhole-token': token },
      })
      const absolute = await connect(`ws://127.0.0.1:${port}/drain-absolute`, {
        agent: new AbsoluteFormAgent(new URL(draining.url), token),
      })
      const secured = await tunnel(new URL(draining.url), `127.0.0.1:${securePort}`, token)
      const inTunnel = await connect(`wss://127.0.0.1:${securePort}/drain-tunnel`, {
        createConnection: () => secured as unknown as net.Socket,
      })
      const all = [open, absolute, inTunnel]
      for (const { next } of all) expect(await next()).toBe('*'.repeat(`Bearer ${CREDENTIAL}`.length))
      const closes = all.map(({ ws }) => once(ws, 'close'))
      const result = await draining.stop()
      expect(result.code).toBe(0)
      expect(result.stderr).not.toContain(token)
      // All were cut at the drain timeout (no close frame: 1006 on the client).
      for (const [code] of (await Promise.all(closes)) as [number][]) expect(code).toBe(1006)
      // Cut by the drain, not by the process exiting under them: each ended, so each was logged.
      const lines = result.stdout.split('\n')
      for (const url of [
        `http://127.0.0.1:${port}/drain`,
        `http://127.0.0.1:${port}/drain-absolute`,
        `https://127.0.0.1:${securePort}/drain-tunnel`,
      ])
        expect(
          lines.some((line) => line.includes(` 101 ok GET ${url} `)),
          url,
        ).toBe(true)
    } finally {
      await draining.stop()
    }
  })

  it('answers an upgrade without a token with the JSON 401', async () => {
    const url = `${served.url.replace(/^http/, 'ws')}/http/127.0.0.1:${port}/echo`
    const ws = new WebSocket(url)
    // terminate() before an open reports an error on the client; nothing to see here.
    ws.on('error', () => {})
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage]
    expect(res.statusCode).toBe(401)
    expect(res.headers['x-keyhole-error']).toBe('missing_token')
    res.resume()
    ws.terminate()
  })
})
