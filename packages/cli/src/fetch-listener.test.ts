import { createServer, type RequestListener, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { admin } from '@keyhole/hono'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { createFetchListener, type FetchHandler } from './fetch-listener.js'

// What keyhole serve's app does with a request: core's management routes, anything else 404.
const app = new Hono()
app.use('*', admin({ keyring: { publicJwks: () => ({ keys: [] }) } }))
app.all('*', (c) => c.text('not here', 404))
const fetchAdmin: FetchHandler = (req, env) => app.fetch(req, env)

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

async function listen(listener: RequestListener): Promise<number> {
  const server = createServer(listener)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function call(port: number, method: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => {
        const { date: _date, ...headers } = res.headers
        resolve({ status: res.statusCode ?? 0, headers, body })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('createFetchListener', () => {
  it('answers GET /healthz exactly as core’s route does through @hono/node-server', async () => {
    const direct = await listen(getRequestListener(fetchAdmin) as RequestListener)
    const seen: string[] = []
    const lazy = await listen(
      createFetchListener((req, env) => {
        seen.push(new URL(req.url).pathname)
        return fetchAdmin(req, env)
      }),
    )
    for (const path of ['/healthz', '/healthz?probe=1']) {
      const expected = await call(direct, 'GET', path)
      expect(expected.status).toBe(200)
      expect(await call(lazy, 'GET', path)).toEqual(expected)
    }
    // Answered without the fetch handler.
    expect(seen).toEqual([])
  })

  it('hands every other request to the fetch handler, loading the listener on first use', async () => {
    const seen: string[] = []
    const port = await listen(
      createFetchListener((req, env) => {
        seen.push(`${req.method} ${new URL(req.url).pathname}`)
        return fetchAdmin(req, env)
      }),
    )
    const [jwks, head, post, other] = await Promise.all([
      call(port, 'GET', '/.well-known/jwks.json'),
      call(port, 'HEAD', '/healthz'),
      call(port, 'POST', '/healthz'),
      call(port, 'GET', '/healthzz'),
    ])
    expect(jwks).toMatchObject({ status: 200, body: '{"keys":[]}' })
    expect(head.status).toBe(200)
    expect(post.status).toBe(404)
    expect(other).toMatchObject({ status: 404, body: 'not here' })
    expect(seen.sort()).toEqual([
      'GET /.well-known/jwks.json',
      'GET /healthzz',
      'HEAD /healthz',
      'POST /healthz',
    ])
  })
})
