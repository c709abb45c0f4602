// One table of requests through every way keyhole decides on a request: the engine called
// directly, the engine mounted by each adapter (`keyhole()`), and `keyholeAuth` on each adapter
// in front of a handler that forwards `await prepare()` itself. They run the same pipeline
// stages, so each row must get the same status and X-Keyhole-Error everywhere, and the upstream
// must see the same injected credential. Real servers on 127.0.0.1 throughout.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createOpener, createProxy, type Keyring, mint, type Opener, type ProxyOptions } from '@keyhole/core'
import { createNodeForwarder, type NodeForwarder } from '@keyhole/core/node'
import * as keyholeExpress from '@keyhole/express'
import * as keyholeHono from '@keyhole/hono'
import express from 'express'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  jsonAnswer,
  makeKeys,
  mintToken,
  type Recorded,
  startUpstream,
  testIssuers,
  type Upstream,
} from '../../packages/core/test/kit/index.js'

const SECRET = 'Bearer sk-same-decisions-0123456789'

let upstream: Upstream
let origin: string
let keyring: Keyring
let opener: Opener
// The upstream echoes the URL and Authorization it received; the test reads its own record, since
// the echo comes back with the injected credential masked by response scrubbing.
const seenBy = (record: Recorded) => ({ url: record.url, auth: record.headers.authorization ?? null })
const closers: (() => Promise<void> | void)[] = []
const tokens: Record<'good' | 'otherHost' | 'revoked' | 'unsigned', string> = {
  good: '',
  otherHost: '',
  revoked: '',
  unsigned: '',
}

beforeAll(async () => {
  upstream = await startUpstream({ answer: jsonAnswer(seenBy) })
  origin = upstream.origin
  ;({ keyring } = await makeKeys())
  opener = createOpener({ keyring, issuers: testIssuers })
  const grant = {
    hosts: [origin],
    paths: ['/ok/**'],
    methods: ['GET', 'POST'],
    inject: [{ in: 'header' as const, name: 'Authorization', value: SECRET }],
    ttl: '10m',
  }
  tokens.good = await mintToken(keyring, grant)
  tokens.otherHost = await mintToken(keyring, { ...grant, hosts: ['api.example.com'] })
  tokens.revoked = await mintToken(keyring, grant)
  tokens.unsigned = await mint(grant, { to: keyring.publicJwks() })
  const { jti, exp } = await opener.open(tokens.revoked)
  await opener.revocations.revoke(jti, new Date(exp * 1000))
})

afterAll(async () => {
  for (const close of closers) await close()
  await upstream.close()
})

interface Config {
  tokenHeaders?: readonly string[]
  allowHosts?: readonly string[]
}

/** Sends one request (method, path below the mount point, headers) and reports what came back. */
type Decider = (method: string, path: string, headers: Record<string, string>) => Promise<Response>

async function listen(server: Server): Promise<string> {
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function nodeForwarder(): NodeForwarder {
  const forward = createNodeForwarder()
  closers.push(() => forward.destroy())
  return forward
}

const over =
  (base: string): Decider =>
  (method, path, headers) =>
    fetch(`${base}${path}`, { method, headers })

async function deciders(config: Config): Promise<Record<string, Decider>> {
  const engineOptions: ProxyOptions = { opener, upstream: origin, ...config, forward: nodeForwarder() }
  const authOptions = { opener, upstream: origin, ...config }

  const engine = createProxy(engineOptions)

  const honoEngine = new Hono()
  honoEngine.all('/gw/*', keyholeHono.keyhole({ ...engineOptions, forward: nodeForwarder() }))
  const honoEngineBase = await listen(
    serve({ fetch: honoEngine.fetch, port: 0, hostname: '127.0.0.1' }) as Server,
  )

  const honoAuth = new Hono<keyholeHono.KeyholeEnv>()
  honoAuth.use('/gw/*', keyholeHono.keyholeAuth(authOptions))
  honoAuth.all('/gw/*', async (c) => c.var.keyhole.scrub(await fetch(await c.var.keyhole.prepare())))
  const honoAuthBase = await listen(
    serve({ fetch: honoAuth.fetch, port: 0, hostname: '127.0.0.1' }) as Server,
  )

  const expressEngine = express()
  const middleware = keyholeExpress.keyhole({ ...engineOptions, forward: nodeForwarder() })
  expressEngine.use('/gw', middleware)
  const expressEngineBase = await listen(expressEngine.listen(0, '127.0.0.1'))

  const expressAuth = express()
  expressAuth.use('/gw', keyholeExpress.keyholeAuth(authOptions), async (req, res, next) => {
    try {
      const answer = req.keyhole!.scrub(await fetch(await req.keyhole!.prepare()))
      res
        .status(answer.status)
        .type('application/json')
        .send(await answer.text())
    } catch (error) {
      next(error)
    }
  })
  const expressAuthBase = await listen(expressAuth.listen(0, '127.0.0.1'))

  return {
    engine: (method, path, headers) =>
      engine(new Request(`http://keyhole.test/gw${path}`, { method, headers }), { path }),
    'hono keyhole()': over(`${honoEngineBase}/gw`),
    'hono keyholeAuth()': over(`${honoAuthBase}/gw`),
    'express keyhole()': over(`${expressEngineBase}/gw`),
    'express keyholeAuth()': over(`${expressAuthBase}/gw`),
  }
}

interface Row {
  name: string
  method?: string
  path?: string
  headers: () => Record<string, string>
  config?: Config
  expected: [status: number, code: string | null]
}

const table: Row[] = [
  { name: 'good token', headers: () => ({ 'x-keyhole-token': tokens.good }), expected: [200, null] },
  { name: 'missing token', headers: () => ({}), expected: [401, 'missing_token'] },
  {
    name: 'bad token',
    headers: () => ({ 'x-keyhole-token': 'a.b.c.d.e' }),
    expected: [401, 'invalid_token'],
  },
  {
    name: 'unsigned token',
    headers: () => ({ 'x-keyhole-token': tokens.unsigned }),
    expected: [401, 'invalid_token'],
  },
  {
    name: 'wrong host',
    headers: () => ({ 'x-keyhole-token': tokens.otherHost }),
    expected: [403, 'host_not_allowed'],
  },
  {
    name: 'wrong path',
    path: '/nope',
    headers: () => ({ 'x-keyhole-token': tokens.good }),
    expected: [403, 'path_not_allowed'],
  },
  {
    name: 'wrong method',
    method: 'DELETE',
    headers: () => ({ 'x-keyhole-token': tokens.good }),
    expected: [403, 'method_not_allowed'],
  },
  {
    name: "token in Authorization with tokenHeaders ['Authorization']",
    headers: () => ({ authorization: `Bearer ${tokens.good}` }),
    config: { tokenHeaders: ['Authorization'] },
    expected: [200, null],
  },
  {
    name: "token in x-api-key with tokenHeaders ['x-api-key']",
    headers: () => ({ 'x-api-key': tokens.good, authorization: 'Bearer sdk-placeholder' }),
    config: { tokenHeaders: ['x-api-key'] },
    expected: [200, null],
  },
  {
    name: 'token in x-api-key without tokenHeaders',
    headers: () => ({ 'x-api-key': tokens.good }),
    expected: [401, 'missing_token'],
  },
  {
    name: 'revoked',
    headers: () => ({ 'x-keyhole-token': tokens.revoked }),
    expected: [403, 'token_revoked'],
  },
  {
    name: 'target outside allowHosts',
    headers: () => ({ 'x-keyhole-token': tokens.good }),
    config: { allowHosts: ['api.example.com'] },
    expected: [403, 'host_not_allowed'],
  },
]

describe('the engine and keyholeAuth, on both adapters, take the same decisions', () => {
  const byConfig = new Map<string, Promise<Record<string, Decider>>>()
  const forConfig = (config: Config = {}) => {
    const key = JSON.stringify(config)
    let found = byConfig.get(key)
    if (!found) {
      found = deciders(config)
      byConfig.set(key, found)
    }
    return found
  }

  it.each(table)('$name', async (row) => {
    const all = await forConfig(row.config)
    const seen: Record<string, [number, string | null, string | null]> = {}
    for (const [name, decide] of Object.entries(all)) {
      const before = upstream.received.length
      const response = await decide(row.method ?? 'GET', row.path ?? '/ok/1?x=%20', row.headers())
      const body = await response.text()
      const code = response.headers.get('x-keyhole-error')
      // What the upstream saw as Authorization, for the requests that reached it.
      const reached = upstream.received[before]
      if (code === null) expect((JSON.parse(body) as { url: string }).url, name).toBe(reached?.url)
      const auth = code === null ? (reached?.headers.authorization ?? null) : null
      seen[name] = [response.status, code, auth]
      if (code !== null) expect(JSON.parse(body).error.code, name).toBe(code)
    }
    const [status, code] = row.expected
    const expected = [status, code, status === 200 ? SECRET : null]
    for (const name of Object.keys(all)) expect(seen[name], name).toEqual(expected)
  })
})
