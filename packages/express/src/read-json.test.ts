import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { readJson } from './read-json.js'

// A real server: readJson reads the IncomingMessage stream itself.
let server: Server
let port: number
let limit = 64 * 1024

beforeAll(async () => {
  server = createServer((req, res) => {
    readJson(req, limit).then(
      (value) => res.end(JSON.stringify({ ok: value })),
      (error: { code?: string; message?: string; cause?: unknown }) =>
        res.end(JSON.stringify({ code: error.code, message: error.message, cause: String(error.cause) })),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(() => new Promise((resolve) => server.close(resolve)))

function post(
  body: string | Buffer | string[],
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', headers, agent: false }, (res) => {
      let text = ''
      res.on('data', (c) => {
        text += c
      })
      res.on('end', () => resolve(JSON.parse(text)))
    })
    req.on('error', reject)
    if (Array.isArray(body)) {
      for (const part of body) req.write(part)
      req.end()
    } else req.end(body)
  })
}

describe('readJson (express)', () => {
  test('parses JSON, with Content-Length or chunked', async () => {
    limit = 64 * 1024
    expect(await post('{"jti":"a","exp":1}')).toEqual({ ok: { jti: 'a', exp: 1 } })
    expect(await post(['{"a":', '[1,2]}'])).toEqual({ ok: { a: [1, 2] } })
  })

  test('refuses empty, malformed and non-UTF-8 bodies without echoing them', async () => {
    const value = 'sk-live-must-not-echo'
    for (const body of ['', `{"v":"${value}"`, Buffer.from([0x7b, 0xff, 0x7d])]) {
      const result = await post(body)
      expect(result.code).toBe('bad_request')
      expect(JSON.stringify(result)).not.toContain(value)
    }
  })

  test('refuses bodies over the limit by Content-Length and by counting', async () => {
    limit = 100
    expect((await post('x'.repeat(500))).code).toBe('bad_request')
    expect((await post(['{"a":"', 'x'.repeat(80), 'x'.repeat(80), '"}'])).code).toBe('bad_request')
    limit = 64 * 1024
  })
})
