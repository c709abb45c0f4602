// The address guard, end to end: names that resolve (or rebind) to private addresses are refused
// at the address actually dialed; wildcards never reach them; and — recorded here because it is the
// former main limit of the guard — a sandbox that can read the proxy's public JWKS can no longer
// mint its own grant naming a private address literally: only a trusted issuer's signed grant can.
import type { LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { createOpener, generateKey, mint } from '@keyhole/core'
import { createNodeForwarder, type NodeForwarder } from '@keyhole/core/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testIssuers } from '../../packages/core/test/kit/issuer.js'
import { send } from './harness/client.js'
import { PROXY_KINDS, type RunningProxy, startProxy } from './harness/proxies.js'
import { leaks } from './harness/secrets.js'
import { type Keys, makeKeys, mintFor } from './harness/tokens.js'
import { type Recorder, startRecorder } from './harness/upstream.js'

let keys: Keys
let internal: Recorder
const proxies: RunningProxy[] = []
const forwarders: NodeForwarder[] = []
let answers: string[] = []

/** A resolver whose answer for every name the test sets (to play DNS rebinding). */
const lookup = ((
  hostname: string,
  options: { all?: boolean } | number,
  callback: (...args: unknown[]) => void,
) => {
  const address = answers.shift() ?? '127.0.0.1'
  void hostname
  setImmediate(() =>
    typeof options === 'object' && options?.all
      ? callback(null, [{ address, family: address.includes(':') ? 6 : 4 } satisfies LookupAddress])
      : callback(null, address, address.includes(':') ? 6 : 4),
  )
}) as unknown as LookupFunction

beforeAll(async () => {
  keys = await makeKeys()
  internal = await startRecorder({ name: 'internal service' })
  const opener = createOpener({ keyring: keys.keyring, issuers: testIssuers })
  for (const kind of PROXY_KINDS) {
    // The node forwarder checks the address it dials; this resolver answers with what the test says.
    const forward = createNodeForwarder({ lookup })
    forwarders.push(forward)
    proxies.push(await startProxy(kind, { opener, forward }))
  }
})
afterAll(async () => {
  for (const proxy of proxies) await proxy.close()
  for (const forward of forwarders) forward.destroy()
  await internal.close()
  expect(leaks()).toEqual([])
})

describe('names that resolve to private addresses', () => {
  it('a granted name resolving to loopback, link-local, private or mapped addresses is refused when dialed', async () => {
    const minted = await mintFor(keys.key, { hosts: [`http://internal.example.test:${internal.port}`] })
    for (const proxy of proxies) {
      for (const address of [
        '127.0.0.1',
        '10.1.2.3',
        '169.254.169.254',
        '192.168.0.1',
        '::1',
        '::ffff:127.0.0.1',
        'fd00::1',
      ]) {
        answers = [address, address]
        const reply = await send(`${proxy.base}/http/internal.example.test:${internal.port}/x`, {
          headers: [['x-keyhole-token', minted.token]],
        })
        expect(reply.status, `${proxy.kind} ${address}`).toBe(403)
        expect(reply.code).toBe('host_not_allowed')
      }
    }
    expect(internal.hits).toEqual([])
  })

  it('a wildcard grant never reaches a private address through DNS either', async () => {
    const minted = await mintFor(keys.key, { hosts: [`http://*.example.test:${internal.port}`] })
    for (const proxy of proxies) {
      answers = ['127.0.0.1', '127.0.0.1']
      const reply = await send(`${proxy.base}/http/rebind.example.test:${internal.port}/x`, {
        headers: [['x-keyhole-token', minted.token]],
      })
      expect(reply.code).toBe('host_not_allowed')
    }
    expect(internal.hits).toEqual([])
  })

  it('local-only names (localhost, *.localhost, *.internal, *.local) are refused before any lookup', async () => {
    const minted = await mintFor(keys.key, {
      hosts: [
        `http://localhost:${internal.port}`,
        `http://a.localhost:${internal.port}`,
        `http://metadata.google.internal:${internal.port}`,
        `http://printer.local:${internal.port}`,
      ],
    })
    for (const proxy of proxies) {
      for (const host of ['localhost', 'a.localhost', 'metadata.google.internal', 'printer.local']) {
        const reply = await send(`${proxy.base}/http/${host}:${internal.port}/x`, {
          headers: [['x-keyhole-token', minted.token]],
        })
        expect(reply.code, `${proxy.kind} ${host}`).toBe('host_not_allowed')
      }
    }
    expect(internal.hits).toEqual([])
  })
})

describe('closed by issuer signing ("Trust: who may mint"): a sandbox that reads the JWKS cannot mint a grant', () => {
  it('a grant it mints itself naming a private address literally, unsigned or signed with its own key, is refused; nothing is dialed', async () => {
    // Everything a sandbox has: the proxy's public keys (served at /.well-known/jwks.json by the
    // CLI and the adapters' jwks() route), a made-up credential, and any signing key it likes.
    const grant = {
      hosts: [internal.origin],
      inject: [{ in: 'header' as const, name: 'X-Nothing', value: 'made-up' }],
      ttl: '5m',
    }
    const unsigned = await mint(grant, { to: keys.keyring.publicJwks() })
    const selfSigned = await mint(grant, {
      to: keys.keyring.publicJwks(),
      signWith: await generateKey({ use: 'sig' }),
    })
    for (const proxy of proxies) {
      for (const own of [unsigned, selfSigned]) {
        const reply = await send(`${proxy.base}/http/127.0.0.1:${internal.port}/internal-only`, {
          headers: [['x-keyhole-token', own]],
        })
        expect(reply.status, proxy.kind).toBe(401)
        expect(reply.code).toBe('invalid_token')
      }
    }
    expect(internal.hits).toEqual([])
  })

  it('a grant a trusted issuer signed may name a private address literally, and the proxy dials it', async () => {
    const minted = await mintFor(keys.key, { hosts: [internal.origin] })
    for (const proxy of proxies) {
      const reply = await send(`${proxy.base}/http/127.0.0.1:${internal.port}/signed-literal`, {
        headers: [['x-keyhole-token', minted.token]],
      })
      expect(reply.status, proxy.kind).toBe(200)
    }
    expect(internal.hits.map((hit) => hit.url)).toEqual(PROXY_KINDS.map(() => '/signed-literal'))
  })
})
