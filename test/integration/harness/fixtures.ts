import {
  createKeyring,
  createMemoryStore,
  createOpener,
  generateKey,
  type Keyring,
  type MemoryStore,
  type MintGrant,
  type Opener,
} from '@keyhole/core'
import {
  mintToken as mintTestToken,
  reflectAnswer,
  startUpstream,
  testIssuer,
  testIssuers,
  type Upstream,
} from '../../../packages/core/test/kit/index.js'
import type { Adapter, AppSpec, ProxyApp } from './adapters.js'
import { type RawRequestOptions, type RawResponse, rawRequest } from './http.js'
import { recordProxyResponse, secret } from './leaks.js'

export interface Keys {
  keyring: Keyring
  revocations: MemoryStore
  opener: Opener
}

/** A fresh P-256 keyring, an in-memory revocation store and an opener over both that trusts the test issuers. */
export async function createKeys(
  options: { now?: () => number; clockTolerance?: string } = {},
): Promise<Keys> {
  const keyring = createKeyring([await generateKey()])
  const revocations = createMemoryStore({ sweepInterval: false })
  const opener = createOpener({ keyring, issuers: testIssuers, revocations, ...options })
  return { keyring, revocations, opener }
}

/**
 * Mints a token for `keyring`, signed by the test issuer, and registers the token and every credential value in it as
 * secrets for the suite's leak check.
 */
export async function mintToken(
  keyring: Keyring,
  grant: Omit<MintGrant, 'ttl'> & { ttl?: MintGrant['ttl'] },
  options: { now?: () => number } = {},
): Promise<string> {
  for (const rule of grant.inject) if (typeof rule.value === 'string') secret(rule.value)
  return secret(await mintTestToken(keyring, { ttl: '10m', ...grant }, options))
}

/** Sends a request to a proxy and records the response if the proxy produced it itself. */
export async function send(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const response = await rawRequest(url, options)
  if (response.headers['x-keyhole-error'] !== undefined)
    recordProxyResponse(response.headers, response.text())
  return response
}

/** The open-mode proxy URL for `path` (raw, with query) on `upstream`. */
export function via(app: ProxyApp, upstream: Upstream, path: string, scheme = 'http'): string {
  return `${app.origin}/proxy/${scheme}/${upstream.authority}${path}`
}

/** Requests the upstream received whose path starts with `prefix`. */
export function hits(upstream: Upstream, prefix: string) {
  return upstream.received.filter((r) => r.url.startsWith(prefix))
}

/** Everything one adapter's scenarios share: keys, two upstreams and a fully mounted app. */
export interface Suite {
  readonly adapter: Adapter
  keys: Keys
  /** The upstream tokens are granted for. */
  up: Upstream
  /** A second upstream no token is granted for: it must never be contacted. */
  other: Upstream
  app: ProxyApp
  adminToken: string
  /** Starts another app on the same adapter (closed after the suite). */
  start(spec: Partial<AppSpec>): Promise<ProxyApp>
}

/** Creates the shared fixtures of one adapter's run; call `setup()` in beforeAll, `teardown()` in afterAll. */
export function createSuite(adapter: Adapter) {
  const extra: ProxyApp[] = []
  const suite = { adapter } as Suite
  return {
    suite,
    async setup() {
      suite.keys = await createKeys()
      suite.up = await startUpstream({ answer: reflectAnswer })
      suite.other = await startUpstream({ answer: reflectAnswer })
      suite.adminToken = secret(`admin-${crypto.randomUUID()}`)
      suite.start = async (spec) => {
        const app = await adapter.start({ opener: suite.keys.opener, ...spec })
        extra.push(app)
        return app
      }
      suite.app = await adapter.start({
        opener: suite.keys.opener,
        gateway: { upstream: suite.up.origin },
        auth: { upstream: suite.up.origin },
        jwks: suite.keys.keyring,
        admin: {
          adminToken: suite.adminToken,
          keyring: suite.keys.keyring,
          store: suite.keys.revocations,
          signWith: testIssuer,
        },
      })
    },
    async teardown() {
      await Promise.all([suite.app?.close(), ...extra.map((app) => app.close())])
      await Promise.all([suite.up?.close(), suite.other?.close()])
      suite.keys?.revocations.close()
    },
  }
}
