// A WebSocket through the built `keyhole serve` (open mode) to a real `ws` echo server on
// 127.0.0.1 that sends back the Authorization header it received.
import { once } from 'node:events'
import http, { type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { buildCli, keyhole, type Served, serve, tempDir } from './cli.js'

const CREDENTIAL = 'serve-websocket-credential-0042'

let dir: string
let remove: () => Promise<void>
let upstream: http.Server
let port: number
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
  upstream = http.createServer((_req, res) => res.end())
  upstream.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
  )
  upstream.listen(0, '127.0.0.1')
  await once(upstream, 'listening')
  port = (upstream.address() as AddressInfo).port
  expect((await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })).code).toBe(0)
  const minted = await keyhole(
    [
      'mint',
      '--keys',
      'keys.json',
      '--host',
      `http://127.0.0.1:${port}`,
      '--header',
      `Authorization: Bearer ${CREDENTIAL}`,
      '--ttl',
      '10m',
    ],
    { cwd: dir },
  )
  expect(minted.code).toBe(0)
  token = minted.stdout.trim()
  served = await serve(['--keys', 'keys.json'], { cwd: dir })
}, 300_000)

afterAll(async () => {
  await served?.stop()
  upstream?.closeAllConnections()
  upstream?.close()
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
