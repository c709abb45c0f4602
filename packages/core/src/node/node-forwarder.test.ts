import type http from 'node:http'
import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../../test/kit/index.js'
import { isKeyholeError } from '../errors.js'
import { parseAddressRanges } from '../proxy/address-ranges.js'
import type { ForwardInit } from '../proxy/forward-fetch.js'
import { nodeBody } from './incoming-response.js'
import { createNodeForwarder } from './node-forwarder.js'

let upstream: Upstream
let port: number
let seen: Upstream['received']
const requestsPerSocket = new WeakMap<Socket, number>()

beforeAll(async () => {
  upstream = await startUpstream({
    answer: (req, res) => {
      const count = (requestsPerSocket.get(req.socket) ?? 0) + 1
      requestsPerSocket.set(req.socket, count)
      // '/flaky' drops the second request on a kept-alive connection, as a server that timed the
      // connection out at the same moment would.
      if (req.url === '/flaky' && count === 2) {
        req.socket.destroy()
        return
      }
      if (req.url === '/node-body') {
        // Headers first, body a little later: the response is still streaming when it is handed on.
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.flushHeaders()
        setTimeout(() => res.end(`hello ${req.url}`), 20)
        return
      }
      if (req.url === '/delay') {
        setTimeout(() => res.end('delayed'), 30)
        return
      }
      if (req.url === '/redirect') {
        res.writeHead(301, { location: 'https://elsewhere.test/' })
        res.end()
        return
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'x-reason': 'ok' })
      res.end(`hello ${req.url}`)
    },
  })
  port = upstream.port
  seen = upstream.received
})

afterAll(() => upstream.close())

const init = (extra: Partial<ForwardInit> = {}): ForwardInit => ({
  method: 'GET',
  headers: {},
  body: null,
  signal: new AbortController().signal,
  redirect: 'manual',
  duplex: 'half',
  ...extra,
})

const target = (path: string) => ({
  scheme: 'http' as const,
  host: '127.0.0.1',
  port,
  path,
  privateAddresses: true,
})

describe('createNodeForwarder', () => {
  it('refuses a private literal address unless the request or the forwarder allows it', async () => {
    const forward = createNodeForwarder()
    const refused = await forward(`http://127.0.0.1:${port}/x`, init()).catch((error) => error)
    expect(isKeyholeError(refused, 'host_not_allowed')).toBe(true)
    const allowed = await forward('', init({ keyhole: target('/x') }))
    expect(await allowed.text()).toBe('hello /x')
    const open = createNodeForwarder({ allowPrivateAddresses: true })
    expect(await (await open(`http://127.0.0.1:${port}/y`, init())).text()).toBe('hello /y')
    forward.destroy()
    open.destroy()
  })

  it('dials a private literal inside the ranges the engine hands it, and no other', async () => {
    const forward = createNodeForwarder()
    const inside = { ...target('/in'), privateAddresses: parseAddressRanges(['127.0.0.0/8']) }
    expect(await (await forward('', init({ keyhole: inside }))).text()).toBe('hello /in')
    const before = seen.length
    const outside = { ...target('/out'), privateAddresses: parseAddressRanges(['10.0.0.0/8']) }
    const refused = await forward('', init({ keyhole: outside })).catch((error) => error)
    expect(isKeyholeError(refused, 'host_not_allowed')).toBe(true)
    expect(seen.length).toBe(before)
    expect(forward.capabilities).toMatchObject({
      appliesTimeout: true,
      takesNodeStreams: true,
      cleanResponses: true,
      checksDialedAddress: true,
    })
    forward.destroy()
  })

  it('sends the path exactly as given and never follows redirects', async () => {
    const forward = createNodeForwarder()
    const raw = '/a/../b/%2e/%2F?x=%zz&y=a+b'
    await (await forward('', init({ keyhole: target(raw) }))).text()
    expect(seen.at(-1)?.url).toBe(raw)
    const redirect = await forward('', init({ keyhole: target('/redirect') }))
    expect(redirect.status).toBe(301)
    expect(redirect.headers.get('location')).toBe('https://elsewhere.test/')
    forward.destroy()
  })

  it('retries a bodyless request once when a reused keep-alive connection was reset', async () => {
    const forward = createNodeForwarder()
    const first = await forward('', init({ keyhole: target('/flaky') }))
    expect(await first.text()).toBe('hello /flaky')
    // Let the connection go back to the pool (that happens a tick after the body was read).
    await new Promise((resolve) => setImmediate(resolve))
    const second = await forward('', init({ keyhole: target('/flaky') }))
    expect(await second.text()).toBe('hello /flaky')
    // First request, the reset one on the reused connection, and the retry on a fresh one.
    expect(seen.filter((r) => r.url === '/flaky').length).toBe(3)
    forward.destroy()
  })

  it('rejects with the abort reason when the signal fires first', async () => {
    const forward = createNodeForwarder()
    const controller = new AbortController()
    const reason = new Error('stop')
    controller.abort(reason)
    await expect(forward('', init({ keyhole: target('/x'), signal: controller.signal }))).rejects.toBe(reason)
    forward.destroy()
  })

  it('applies the timeout the engine hands it to connect plus response headers', async () => {
    const forward = createNodeForwarder()
    const late = await forward('', init({ keyhole: { ...target('/delay'), timeout: 5 } })).catch(
      (error) => error,
    )
    expect(isKeyholeError(late, 'upstream_timeout')).toBe(true)
    const inTime = await forward('', init({ keyhole: { ...target('/delay'), timeout: 5000 } }))
    expect(await inTime.text()).toBe('delayed')
    forward.destroy()
  })

  it('an abort after the response is over does not touch the pooled connection', async () => {
    const forward = createNodeForwarder()
    const first = new AbortController()
    expect(await (await forward('', init({ keyhole: target('/x'), signal: first.signal }))).text()).toBe(
      'hello /x',
    )
    await new Promise((resolve) => setImmediate(resolve))
    const pending = forward('', init({ keyhole: target('/delay') }))
    first.abort()
    expect(await (await pending).text()).toBe('delayed')
    forward.destroy()
  })

  it('lets a Node adapter take the upstream message instead of the web body', async () => {
    const forward = createNodeForwarder()
    const response = await forward('', init({ keyhole: target('/node-body') }))
    const incoming = nodeBody(response)
    expect(incoming).toBeDefined()
    expect(nodeBody(response)).toBeUndefined()
    let text = ''
    for await (const chunk of incoming as http.IncomingMessage) text += chunk
    expect(text).toBe('hello /node-body')
    await expect(response.text()).rejects.toThrow()

    const read = await forward('', init({ keyhole: target('/node-body') }))
    expect(await read.text()).toBe('hello /node-body')
    expect(nodeBody(read)).toBeUndefined()
    // A body that came complete with the headers is handed on as bytes, not as a Node stream.
    const small = await forward('', init({ keyhole: target('/small') }))
    expect(nodeBody(small)).toBeUndefined()
    expect(await small.text()).toBe('hello /small')
    expect(nodeBody(new Response('x'))).toBeUndefined()
    forward.destroy()
  })
})
