// Two (or more) keyhole proxy replicas on 127.0.0.1 sharing one revocation store, each with its
// own store instance (its own connections) behind its own caching wrapper, as separate processes
// would have. Used by the Redis and Postgres two-replica tests.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import {
  type CachingStoreOptions,
  createCachingStore,
  createKeyring,
  createOpener,
  generateKey,
  type Keyring,
  mint,
  type RevocationFeed,
  type RevocationStore,
} from '@keyhole/core'
import { keyhole, revoke } from '@keyhole/hono'
import { Hono } from 'hono'
import { testIssuer, testIssuers } from '../../core/test/kit/issuer.js'

export const ADMIN_TOKEN = 'admin-token-for-replica-tests-0123456789'
export const CREDENTIAL = 'Bearer upstream-credential-value-42'

export interface Upstream {
  readonly port: number
  /** Requests that reached the upstream, with the Authorization header they carried. */
  readonly seen: { url: string; authorization: string | undefined }[]
  close(): Promise<void>
}

/** An upstream API on 127.0.0.1 that answers 200 and records what reached it. */
export async function startUpstream(): Promise<Upstream> {
  const seen: Upstream['seen'] = []
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization })
    res.writeHead(200, { 'content-type': 'text/plain' }).end('upstream says hi')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface Replica {
  readonly origin: string
  readonly revocations: ReturnType<typeof createCachingStore>
  /** GET through this replica's proxy to the upstream with `token`; resolves with status and error code. */
  get(token: string, path?: string): Promise<{ status: number; code: string | null }>
  /** POST /revoke on this replica's admin route. */
  revoke(jti: string, exp: number): Promise<Response>
  close(): Promise<void>
}

/** Starts one replica: Hono on @hono/node-server, `/proxy/*` and `POST /revoke`, over `store`. */
export async function startReplica(
  keyring: Keyring,
  store: RevocationStore & Partial<RevocationFeed>,
  upstream: Upstream,
  cache: CachingStoreOptions = {},
): Promise<Replica> {
  const revocations = createCachingStore(store, cache)
  const opener = createOpener({ keyring, issuers: testIssuers, revocations })
  const app = new Hono()
  // a signed grant naming 127.0.0.1 literally needs no allowPrivateAddresses; fetch (Hono's default
  // forwarder) cannot check dialed addresses, so the targets are bounded to the upstream
  app.all('/proxy/*', keyhole({ opener, allowHosts: [`http://127.0.0.1:${upstream.port}`] }))
  app.post('/revoke', revoke({ opener, adminToken: ADMIN_TOKEN }))
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  if (!server.listening) await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    revocations,
    async get(token, path = '/hello') {
      const response = await fetch(`${origin}/proxy/http/127.0.0.1:${upstream.port}${path}`, {
        headers: { 'x-keyhole-token': token },
      })
      await response.arrayBuffer()
      return { status: response.status, code: response.headers.get('x-keyhole-error') }
    },
    revoke(jti, exp) {
      return fetch(`${origin}/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jti, exp }),
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        revocations.close()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A keyring and a way to mint tokens for the upstream, returning the token with its jti and exp. */
export async function createIssuer(upstream: Upstream) {
  const keyring = createKeyring([await generateKey()])
  const reader = createOpener({ keyring, issuers: testIssuers })
  return {
    keyring,
    async token() {
      const token = await mint(
        {
          hosts: [`http://127.0.0.1:${upstream.port}`],
          inject: [{ in: 'header', name: 'Authorization', value: CREDENTIAL }],
          ttl: '10m',
        },
        { to: keyring.publicJwks(), signWith: testIssuer },
      )
      const { jti, exp } = await reader.open(token)
      return { token, jti, exp }
    },
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Percentile of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}
