// A WebSocket inside a CONNECT tunnel: wss:// through the forward proxy with a keyhole CA, to a
// real `wss` echo server on 127.0.0.1 that sends back the Authorization it received.
import { once } from 'node:events'
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import net, { type AddressInfo } from 'node:net'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { generateKey } from '../../src/keys/generate-key.js'
import { createKeyring } from '../../src/keys/keyring.js'
import { mint } from '../../src/mint.js'
import {
  type CertificateAuthority,
  createCertificateAuthority,
} from '../../src/node/ca/certificate-authority.js'
import { attachForwardProxy, type ForwardProxy } from '../../src/node/forward-proxy/create-forward-proxy.js'
import { createNodeForwarder } from '../../src/node/node-forwarder.js'
import { createUpgradeHandler } from '../../src/node/websocket/index.js'
import { createOpener } from '../../src/open/opener.js'
import { createProxy } from '../../src/proxy/create-proxy.js'
import { localhostTls, startUpstream, testIssuer, testIssuers, type Upstream } from '../kit/index.js'

const SECRET = 'ghp_TUNNELWEBSOCKET0123456789abcdef'
// Short, so an idle WebSocket is seen closed; every other exchange here is much quicker.
const IDLE_MS = 500

let upstream: Upstream
let upstreamPort: number
let proxy: http.Server
let proxyPort: number
let forwardProxy: ForwardProxy
let ca: CertificateAuthority
let token: string
const handshakes: IncomingHttpHeaders[] = []
const forward = createNodeForwarder()

beforeAll(async () => {
  const { cert } = localhostTls
  upstream = await startUpstream({ tls: localhostTls })
  const wss = new WebSocketServer({ noServer: true })
  wss.on('connection', (socket, req: IncomingMessage) => {
    socket.send(req.headers.authorization ?? '(none)')
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
  })
  upstream.server.on('upgrade', (req: IncomingMessage, socket, head) => {
    handshakes.push(req.headers)
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
  })
  upstreamPort = upstream.port

  const keyring = createKeyring([await generateKey()])
  const opener = createOpener({ keyring, issuers: testIssuers })
  token = await mint(
    {
      hosts: [`127.0.0.1:${upstreamPort}`],
      inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }],
      ttl: '10m',
    },
    { to: keyring.publicJwks(), signWith: testIssuer },
  )
  ca = await createCertificateAuthority()
  const engineOptions = { opener, forward }
  proxy = http.createServer((_req, res) => {
    res.statusCode = 404
    res.end()
  })
  forwardProxy = attachForwardProxy(proxy, {
    handler: createProxy(engineOptions),
    ca,
    nodeBody: true,
    upgrade: createUpgradeHandler(engineOptions, { ca: cert, idleTimeout: `${IDLE_MS}ms` }),
  })
  proxy.listen(0, '127.0.0.1')
  await once(proxy, 'listening')
  proxyPort = (proxy.address() as AddressInfo).port
})

afterAll(async () => {
  forwardProxy.close()
  proxy.closeAllConnections()
  proxy.close()
  forward.destroy()
  await upstream.close()
})

/** CONNECT to the upstream through the proxy, then TLS with the keyhole CA's leaf. */
async function tunnel(proxyAuthorization: string): Promise<tls.TLSSocket> {
  return (await tunnelWithSocket(proxyAuthorization)).secure
}

/** {@link tunnel}, with the CONNECT's own TCP socket too. */
async function tunnelWithSocket(
  proxyAuthorization: string,
): Promise<{ secure: tls.TLSSocket; raw: net.Socket }> {
  const socket = net.connect(proxyPort, '127.0.0.1')
  await once(socket, 'connect')
  const authority = `127.0.0.1:${upstreamPort}`
  socket.write(
    `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: ${proxyAuthorization}\r\n\r\n`,
  )
  const [chunk] = (await once(socket, 'data')) as [Buffer]
  expect(chunk.toString('latin1')).toMatch(/^HTTP\/1\.1 200/)
  const secure = tls.connect({ socket, host: '127.0.0.1', ca: ca.certificate })
  await once(secure, 'secureConnect')
  return { secure, raw: socket }
}

function open(
  secure: tls.TLSSocket,
  path = '/echo',
): Promise<WebSocket | { status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${upstreamPort}${path}`, { createConnection: () => secure })
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers })
      res.resume()
    })
    ws.once('error', reject)
  })
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())))
}

describe("attachForwardProxy and the server's own upgrade listeners", () => {
  it('passes an origin-form upgrade to a listener added after it, and closes it when there is none', async () => {
    const server = http.createServer()
    attachForwardProxy(server, {
      handler: createProxy({
        opener: createOpener({ keyring: createKeyring([await generateKey()]) }),
        forward,
      }),
      ca,
      upgrade: createUpgradeHandler({
        opener: createOpener({ keyring: createKeyring([await generateKey()]) }),
        forward,
      }),
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as AddressInfo).port
    const upgradeOnce = async () => {
      const socket = net.connect(port, '127.0.0.1')
      await once(socket, 'connect')
      socket.write('GET /own HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      await once(socket, 'close')
      return Buffer.concat(chunks).toString('latin1')
    }
    // No listener of the server's own: closed without an answer.
    expect(await upgradeOnce()).toBe('')
    // One added after attachForwardProxy answers it.
    server.on('upgrade', (_req: IncomingMessage, socket: net.Socket) => {
      socket.end('HTTP/1.1 418 Own\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
    })
    expect(await upgradeOnce()).toMatch(/^HTTP\/1\.1 418 Own/)
    server.close()
  })
})

describe('a WebSocket inside a CONNECT tunnel', () => {
  it('gets the credential injected upstream and masked on the way back, with the CONNECT token', async () => {
    const secure = await tunnel(`Bearer ${token}`)
    const ws = await open(secure)
    if (!(ws instanceof WebSocket)) throw new Error(`refused: ${ws.status}`)
    expect(await nextMessage(ws)).toBe('*'.repeat(`Bearer ${SECRET}`.length))
    const seen = handshakes.at(-1) as IncomingHttpHeaders
    expect(seen.authorization).toBe(`Bearer ${SECRET}`)
    expect(seen['x-keyhole-token']).toBeUndefined()
    expect(seen['proxy-authorization']).toBeUndefined()
    expect(seen['sec-websocket-extensions']).toBeUndefined()
    ws.send('through the tunnel')
    expect(await nextMessage(ws)).toBe('through the tunnel')
    ws.close()
    await once(ws, 'close')
  })

  it('answers 421 for an upgrade whose Host is not the CONNECT authority', async () => {
    const before = handshakes.length
    const secure = await tunnel(`Bearer ${token}`)
    const result = await new Promise<{ status: number; headers: IncomingHttpHeaders }>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${upstreamPort}/echo`, {
        createConnection: () => secure,
        headers: { host: 'other.test' },
      })
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers })
        res.resume()
      })
      ws.once('open', () => reject(new Error('opened')))
      ws.once('error', reject)
    })
    expect(result.status).toBe(421)
    expect(result.headers['x-keyhole-error']).toBe('misdirected_request')
    expect(handshakes.length).toBe(before)
  })

  it('is closed, tunnel and all, once no frames have gone either way for the idle timeout', async () => {
    const { secure, raw } = await tunnelWithSocket(`Bearer ${token}`)
    const ws = await open(secure)
    if (!(ws instanceof WebSocket)) throw new Error(`refused: ${ws.status}`)
    const code = new Promise<number>((resolve) => ws.once('close', (c: number) => resolve(c)))
    const tunnelClosed = new Promise<void>((resolve) => {
      if (raw.destroyed) resolve()
      else raw.once('close', () => resolve())
    })
    expect(await nextMessage(ws)).toBe('*'.repeat(`Bearer ${SECRET}`.length))
    // Busy for twice the idle time: the connection stays.
    const started = performance.now()
    for (let i = 0; performance.now() - started < 2 * IDLE_MS; i++) {
      expect(ws.readyState).toBe(WebSocket.OPEN)
      ws.send(`busy ${i}`)
      expect(await nextMessage(ws)).toBe(`busy ${i}`)
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 4))
    }
    // Then quiet: dropped after the idle timeout, and the CONNECT socket with it.
    const quietSince = performance.now()
    expect(await code).toBe(1006)
    await tunnelClosed
    expect(performance.now() - quietSince).toBeGreaterThanOrEqual(IDLE_MS - 250)
  })
})
