// Plug-in credential types given to createProxy({ injectors }) only, as DESIGN.md shows them: the
// engine teaches createOpener's opener the new types, so tokens naming them open and inject.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KeyholeError } from '../../src/errors.js'
import type { Injector } from '../../src/inject/injector.js'
import { createInjectorRegistry } from '../../src/inject/registry.js'
import { generateKey } from '../../src/keys/generate-key.js'
import { toPublicJwk } from '../../src/keys/jwk.js'
import { createKeyring, type Keyring } from '../../src/keys/keyring.js'
import { mint } from '../../src/mint.js'
import { createOpener, type Opener } from '../../src/open/opener.js'
import { createProxy } from '../../src/proxy/create-proxy.js'
import { createFetchForwarder } from '../../src/proxy/forward-fetch.js'
import type { KeyholeIssuerPrivateJwk } from '../../src/types.js'
import { reflectAnswer, startUpstream, type Upstream } from '../kit/index.js'

const KEY = 'pluginsecret0042'

const upperKey: Injector<{ type: 'upper-key'; key: string }> = {
  type: 'upper-key',
  fields: ['key'],
  validate(entry, where) {
    if (typeof entry.key !== 'string' || !/^[a-z0-9]+$/.test(entry.key))
      throw new KeyholeError('invalid_grant', `${where}.key must be lower-case letters and digits`)
  },
  writesHeaders: () => ['x-key'],
  needsBody: () => false,
  apply(request, entry) {
    request.headers.set('x-key', entry.key.toUpperCase())
  },
  secrets: (entry) => [entry.key, entry.key.toUpperCase()],
}

let upstream: Upstream
let keyring: Keyring
let issuer: KeyholeIssuerPrivateJwk
let token: string

beforeAll(async () => {
  upstream = await startUpstream({ answer: reflectAnswer })
  keyring = createKeyring([await generateKey()])
  issuer = await generateKey({ use: 'sig' })
  token = await mint(
    { hosts: [upstream.origin], inject: [{ type: 'upper-key', key: KEY }], ttl: '10m' },
    { to: keyring.publicJwks(), signWith: issuer, injectors: createInjectorRegistry([upperKey as never]) },
  )
})
afterAll(() => upstream.close())

const send = (handle: ReturnType<typeof createProxy>) =>
  handle(
    new Request(`http://keyhole.test/http/127.0.0.1:${upstream.port}/plugin`, {
      headers: { 'x-keyhole-token': token },
    }),
  )

describe('createProxy({ injectors })', () => {
  it('adds the credential type: a token naming it opens, is injected and scrubbed', async () => {
    const opener = createOpener({ keyring, issuers: [toPublicJwk(issuer)] })
    expect(opener.injectors.has('upper-key')).toBe(false)
    // A proxy made earlier on the same opener, with no injectors of its own, follows the opener.
    const earlier = createProxy({ opener, forward: createFetchForwarder(), allowHosts: [upstream.origin] })
    const handle = createProxy({
      opener,
      forward: createFetchForwarder(),
      allowHosts: [upstream.origin],
      injectors: [upperKey as never],
    })
    const response = await send(handle)
    expect(response.status).toBe(200)
    const seen = upstream.received.at(-1)
    expect(seen?.headers['x-key']).toBe(KEY.toUpperCase())
    // The upstream echoed its headers back: both forms of the secret are masked.
    const body = await response.text()
    expect(body).not.toContain(KEY.toUpperCase())
    expect(body).toContain('*'.repeat(KEY.length))
    expect(opener.injectors.has('upper-key')).toBe(true)
    const viaEarlier = await send(earlier)
    expect(viaEarlier.status).toBe(200)
    expect(upstream.received.at(-1)?.headers['x-key']).toBe(KEY.toUpperCase())
    expect(await viaEarlier.text()).not.toContain(KEY.toUpperCase())
  })

  it('without it, the same token is invalid_token', async () => {
    const opener = createOpener({ keyring, issuers: [toPublicJwk(issuer)] })
    const handle = createProxy({ opener, forward: createFetchForwarder(), allowHosts: [upstream.origin] })
    const response = await send(handle)
    expect(response.status).toBe(401)
    expect(response.headers.get('x-keyhole-error')).toBe('invalid_token')
  })

  it('an opener that cannot learn types (not createOpener) is still refused at createProxy', () => {
    const base = createOpener({ keyring, issuers: [toPublicJwk(issuer)] })
    const fixed: Opener = Object.freeze({
      open: base.open,
      revocations: base.revocations,
      stats: base.stats,
      clear: base.clear,
      injectors: base.injectors,
      issuerScope: base.issuerScope,
      acceptsUnsigned: base.acceptsUnsigned,
      setIssuers: base.setIssuers,
    }) as unknown as Opener
    expect(() =>
      createProxy({
        opener: fixed,
        forward: createFetchForwarder(),
        allowHosts: [upstream.origin],
        injectors: [upperKey as never],
      }),
    ).toThrow(/does not know the credential type 'upper-key'/)
  })
})
