import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { requestFromIncoming } from './incoming-request.js'

// The lazy Request view over real IncomingMessages.
let server: Server
let port: number
let handler: (req: import('node:http').IncomingMessage) => Promise<unknown>

beforeAll(async () => {
  server = createServer((req, res) => {
    handler(req).then(
      (value) => res.end(JSON.stringify(value)),
      (error: Error) => res.end(JSON.stringify({ error: error.message })),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(() => new Promise((resolve) => server.close(resolve)))

function send(
  method: string,
  path: string,
  headers: string[],
  body?: string,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method, path, headers, agent: false }, (res) => {
      let text = ''
      res.on('data', (c) => {
        text += c
      })
      res.on('end', () => resolve(JSON.parse(text)))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('requestFromIncoming', () => {
  test('method, url and headers (repeats combined, names as sent) without a Request until needed', async () => {
    handler = async (req) => {
      const web = requestFromIncoming(req, new AbortController().signal)
      return {
        isRequest: web instanceof Request,
        method: web.method,
        url: web.url,
        headers: [...web.headers],
        body: web.body,
      }
    }
    const result = await send('GET', '/a%2Fb?x=1', ['Host', 'example.test', 'X-A', '1', 'x-a', '2'])
    expect(result).toEqual({
      isRequest: true,
      method: 'GET',
      url: 'http://example.test/a%2Fb?x=1',
      headers: [
        ['connection', 'close'],
        ['host', 'example.test'],
        ['x-a', '1, 2'],
      ],
      body: null,
    })
  })

  test('the body streams as a web stream, or as the IncomingMessage itself for the node forwarder', async () => {
    handler = async (req) => {
      const web = requestFromIncoming(req, new AbortController().signal)
      return { text: await new Response(web.body).text() }
    }
    expect(await send('POST', '/', ['Host', 'h'], 'hello body')).toEqual({ text: 'hello body' })
    handler = async (req) => ({
      same: requestFromIncoming(req, new AbortController().signal, true).body === (req as never),
    })
    expect(await send('POST', '/', ['Host', 'h'], 'x')).toEqual({ same: true })
  })

  test('anything else materializes a real Request over the same body', async () => {
    handler = async (req) => {
      const web = requestFromIncoming(req, new AbortController().signal, true)
      const redirect = web.redirect
      const clone = web.clone()
      return { text: await web.text(), cloned: await clone.text(), redirect }
    }
    expect(await send('PUT', '/', ['Host', 'h', 'Content-Type', 'text/plain'], 'materialized')).toEqual({
      text: 'materialized',
      cloned: 'materialized',
      redirect: 'follow',
    })
  })
})
