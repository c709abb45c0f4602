// The engine towards an HTTPS upstream on 127.0.0.1 (the kit's self-signed test certificate for
// IP:127.0.0.1 and DNS:upstream.test, valid until 2126, in ./fixtures).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey } from '../../src/keys/generate-key.js'
import { toPublicJwk } from '../../src/keys/jwk.js'
import { createKeyring } from '../../src/keys/keyring.js'
import { mint } from '../../src/mint.js'
import { createNodeForwarder, type NodeForwarder } from '../../src/node/node-forwarder.js'
import { createOpener, type Opener } from '../../src/open/opener.js'
import { createProxy } from '../../src/proxy/create-proxy.js'
import type { ProxyEvent } from '../../src/proxy/events.js'
import type { KeyholeIssuerPrivateJwk, PublicJwks } from '../../src/types.js'
import { localhostTls, type Recorded, startUpstream, type Upstream } from '../kit/index.js'

const { cert } = localhostTls
const SECRET = 'tls-credential-value-0123'

let upstream: Upstream
let port: number
let opener: Opener
let jwks: PublicJwks
let issuer: KeyholeIssuerPrivateJwk
let seen: Recorded[]
const forwarders: NodeForwarder[] = []
const events: ProxyEvent[] = []

beforeAll(async () => {
  upstream = await startUpstream({
    tls: localhostTls,
    answer: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('secure hello')
    },
  })
  port = upstream.port
  seen = upstream.received
  const keyring = createKeyring([await generateKey()])
  jwks = keyring.publicJwks()
  issuer = await generateKey({ use: 'sig' })
  opener = createOpener({ keyring, issuers: [toPublicJwk(issuer)] })
})

afterAll(async () => {
  for (const f of forwarders) f.destroy()
  await upstream.close()
})

const tokenFor = (hosts: string[]) =>
  mint(
    { hosts, inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }], ttl: '1h' },
    { to: jwks, signWith: issuer },
  )

function nodeForwarder(options: Parameters<typeof createNodeForwarder>[0]) {
  const forward = createNodeForwarder(options)
  forwarders.push(forward)
  return forward
}

describe('engine over TLS', () => {
  it('forwards over https with the injected credential when the upstream certificate is trusted', async () => {
    const handle = createProxy({ opener, forward: nodeForwarder({ agent: { ca: cert } }) })
    const token = await tokenFor([`127.0.0.1:${port}`])
    const res = await handle(
      new Request(`http://keyhole.test/https/127.0.0.1:${port}/secure?x=1`, {
        headers: { 'x-keyhole-token': token },
      }),
    )
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('secure hello')
    expect(seen.at(-1)).toMatchObject({ url: '/secure?x=1', headers: { authorization: `Bearer ${SECRET}` } })
  })

  it('verifies the certificate against the host name it dials (SNI and name check)', async () => {
    const lookup = (_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }])
      else callback(null, '127.0.0.1', 4)
    }
    const forward = nodeForwarder({
      agent: { ca: cert },
      lookup: lookup as never,
      allowPrivateAddresses: true,
    })
    const handle = createProxy({ opener, forward })
    const token = await tokenFor([`upstream.test:${port}`])
    const res = await handle(
      new Request(`http://keyhole.test/https/upstream.test:${port}/named`, {
        headers: { 'x-keyhole-token': token },
      }),
    )
    expect(res.status).toBe(200)
    await res.text()
    expect(seen.at(-1)).toMatchObject({ url: '/named', servername: 'upstream.test' })
  })

  it.each([
    ['node', () => nodeForwarder({})],
    ['fetch', () => undefined],
  ])('refuses an untrusted certificate with 502 upstream_unreachable (%s forwarder)', async (_name, make) => {
    const before = seen.length
    // fetch cannot check the address it dials: its proxy bounds the targets instead.
    const handle = createProxy({
      opener,
      forward: make(),
      allowHosts: [`127.0.0.1:${port}`],
      onEvent: (e) => void events.push(e),
    })
    const token = await tokenFor([`127.0.0.1:${port}`])
    const res = await handle(
      new Request(`http://keyhole.test/https/127.0.0.1:${port}/untrusted`, {
        headers: { 'x-keyhole-token': token },
      }),
    )
    expect(res.status).toBe(502)
    expect(res.headers.get('x-keyhole-error')).toBe('upstream_unreachable')
    const body = await res.text()
    expect(body).not.toContain(SECRET)
    expect(body).not.toContain(token)
    expect(seen.length).toBe(before)
    expect(JSON.stringify(events)).not.toContain(SECRET)
  })

  it('keeps the scheme locked: an https grant does not allow plain http to the same host and port', async () => {
    const handle = createProxy({ opener, forward: nodeForwarder({ agent: { ca: cert } }) })
    const token = await tokenFor([`127.0.0.1:${port}`])
    const res = await handle(
      new Request(`http://keyhole.test/http/127.0.0.1:${port}/downgrade`, {
        headers: { 'x-keyhole-token': token },
      }),
    )
    expect(res.status).toBe(403)
    expect(res.headers.get('x-keyhole-error')).toBe('host_not_allowed')
  })
})
