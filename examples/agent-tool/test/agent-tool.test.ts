import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import {
  createKeyring,
  createOpener,
  generateKey,
  type KeyholeIssuerPrivateJwk,
  type Keyring,
  mint,
  toPublicJwk,
} from '@keyhole/core'
import { createNodeForwarder } from '@keyhole/core/node'
import { keyhole } from '@keyhole/hono'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createListIssuesTool } from '../src/list-issues-tool.mjs'

const CREDENTIAL = 'ghp_agent-tool-credential-6b0e'
let keyring: Keyring
// The operator's issuer key: it signs the agent's tokens; the proxy trusts its public half.
let issuer: KeyholeIssuerPrivateJwk
let github: Server
let githubOrigin: string
const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = []
let proxy: ServerType
let proxyUrl: string
const forward = createNodeForwarder()

beforeAll(async () => {
  keyring = createKeyring([await generateKey()])
  issuer = await generateKey({ use: 'sig' })
  // A fake GitHub: it only answers when the real credential arrives.
  github = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers })
    res.setHeader('content-type', 'application/json')
    if (req.headers.authorization !== `Bearer ${CREDENTIAL}`) {
      res.statusCode = 401
      res.end('{"message":"Bad credentials"}')
      return
    }
    res.end(JSON.stringify([{ number: 7, title: 'Crash on empty input', body: 'long text' }]))
  })
  await new Promise<void>((resolve) => github.listen(0, '127.0.0.1', resolve))
  githubOrigin = `http://127.0.0.1:${(github.address() as AddressInfo).port}`
  // The keyhole proxy the agent's tools talk to (what `keyhole serve` runs).
  const app = new Hono()
  app.all('/*', keyhole({ opener: createOpener({ keyring, issuers: [toPublicJwk(issuer)] }), forward }))
  proxyUrl = await new Promise<string>((resolve) => {
    proxy = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    )
  })
})
afterAll(async () => {
  forward.destroy()
  await new Promise((resolve) => proxy.close(resolve))
  await new Promise((resolve) => github.close(resolve))
})

// What the operator mints for the agent: read-only access to one organisation's issues.
const mintForAgent = () =>
  mint(
    {
      hosts: [githubOrigin],
      paths: ['/repos/acme/*/issues'],
      methods: ['GET'],
      inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${CREDENTIAL}` }],
      ttl: '15m',
      sub: 'agent-tool-example',
    },
    { to: keyring.publicJwks(), signWith: issuer },
  )

describe('examples/agent-tool', () => {
  it('lists issues through the proxy; GitHub gets the credential, the tool never holds it', async () => {
    const token = await mintForAgent()
    const tool = createListIssuesTool({ proxy: proxyUrl, tokens: [token], apiBase: githubOrigin })
    const result = await tool.execute({ owner: 'acme', repo: 'app' })
    expect(result).toEqual({ ok: true, issues: [{ number: 7, title: 'Crash on empty input' }] })
    const request = seen.at(-1)
    expect(request?.url).toBe('/repos/acme/app/issues?state=open')
    expect(request?.headers.authorization).toBe(`Bearer ${CREDENTIAL}`)
    expect(JSON.stringify(tool)).not.toContain(CREDENTIAL)
  })

  it("reports the proxy's refusal for a repository outside the grant, and nothing reaches GitHub", async () => {
    const tool = createListIssuesTool({
      proxy: proxyUrl,
      tokens: [await mintForAgent()],
      apiBase: githubOrigin,
    })
    const before = seen.length
    expect(await tool.execute({ owner: 'someone-else', repo: 'secrets' })).toEqual({
      ok: false,
      error: 'not permitted: path_not_allowed',
    })
    expect(seen.length).toBe(before)
  })

  it('tells a transient failure (GitHub unreachable through the proxy) from a refusal', async () => {
    // A port nothing listens on, taken and released.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const deadOrigin = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`
    await new Promise((resolve) => probe.close(resolve))
    const token = await mint(
      {
        hosts: [deadOrigin],
        inject: [{ type: 'header', name: 'Authorization', value: `Bearer ${CREDENTIAL}` }],
        ttl: '5m',
      },
      { to: keyring.publicJwks(), signWith: issuer },
    )
    const tool = createListIssuesTool({ proxy: proxyUrl, tokens: [token], apiBase: deadOrigin })
    expect(await tool.execute({ owner: 'acme', repo: 'app' })).toEqual({
      ok: false,
      error: 'temporarily unavailable: upstream_unreachable',
    })
  })

  it('refuses locally a host no token covers, without sending anything', async () => {
    let sent = 0
    const countingFetch: typeof fetch = (input, init) => {
      sent++
      return fetch(input, init)
    }
    const tool = createListIssuesTool({
      proxy: proxyUrl,
      tokens: [await mintForAgent()],
      apiBase: 'https://api.github.com',
      fetch: countingFetch,
    })
    expect(await tool.execute({ owner: 'acme', repo: 'app' })).toEqual({
      ok: false,
      error: 'not permitted: no_token_for_host',
    })
    expect(sent).toBe(0)
  })

  it('describes itself with a JSON schema, as agent frameworks expect', async () => {
    const tool = createListIssuesTool({
      proxy: proxyUrl,
      tokens: [await mintForAgent()],
      apiBase: githubOrigin,
    })
    expect(tool.name).toBe('list_issues')
    expect(tool.parameters).toMatchObject({ type: 'object', required: ['owner', 'repo'] })
  })
})
