// What must work on every runtime keyhole supports (Node, Bun, Deno, workerd), run against the
// BUILT packages so the published ESM, not the TypeScript sources, is what is checked. Only
// web-standard APIs here: no node: imports, no runtime globals.

import { Hono } from 'hono'
import { createFetch, createProof, generateProofKey } from '../../packages/client/dist/index.js'
import {
  attenuate,
  authorize,
  createKeyring,
  createOpener,
  createProxy,
  generateKey,
  mint,
  toPublicJwk,
} from '../../packages/core/dist/index.js'
import { keyhole } from '../../packages/hono/dist/index.js'

const SECRET = 'Bearer real-upstream-secret'

function assert(condition, message) {
  if (!condition) throw new Error(message)
}

function equal(actual, expected, what) {
  const a = JSON.stringify(actual)
  const e = JSON.stringify(expected)
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`)
}

/** Resolves with the KeyholeError code the promise (or function) failed with. */
async function failureCode(run) {
  try {
    await run()
  } catch (error) {
    return /** @type {any} */ (error).code ?? String(error)
  }
  throw new Error('expected a failure, but it succeeded')
}

/** One proxy's keys: a decryption keyring and an issuer it trusts. */
async function setup({ curve = 'P-256', alg = 'ES256' } = {}) {
  const keyring = createKeyring([await generateKey({ curve })])
  const issuer = await generateKey({ use: 'sig', alg })
  const opener = createOpener({ keyring, issuers: [toPublicJwk(issuer)] })
  return { keyring, issuer, opener }
}

function grantFor(hosts, extra = {}) {
  return { hosts, inject: [{ type: 'header', name: 'Authorization', value: SECRET }], ttl: '5m', ...extra }
}

/** What the upstream received since the last look (and clears it). */
async function seen(ctx) {
  const response = await fetch(`${ctx.upstreamUrl}/__seen`)
  return response.json()
}

/** The upstream got exactly one request, with the real credential and no trace of the token. */
async function assertForwarded(ctx, token, path) {
  const requests = await seen(ctx)
  equal(requests.length, 1, 'requests the upstream received')
  const [request] = requests
  equal(request.path, path, 'forwarded path')
  equal(request.headers.authorization, SECRET, 'injected Authorization')
  assert(!leaksToken(request, token), 'the upstream received the keyhole token')
  assert(!('x-keyhole-token' in request.headers), 'X-Keyhole-Token reached the upstream')
  assert(!('keyhole-proof' in request.headers), 'Keyhole-Proof reached the upstream')
}

/** True when any part of the token unique to it (its ciphertext) shows up in what was received. */
function leaksToken(received, token) {
  return JSON.stringify(received).includes(token.split('.')[3])
}

function hostOf(url) {
  return `http://${new URL(url).host}`
}

export const checks = [
  {
    name: 'generateKey: enc P-256 and X25519, issuer ES256 and EdDSA',
    async run() {
      const p256 = await generateKey()
      const x25519 = await generateKey({ curve: 'X25519' })
      const es256 = await generateKey({ use: 'sig' })
      const eddsa = await generateKey({ use: 'sig', alg: 'EdDSA' })
      equal([p256.crv, p256.use], ['P-256', 'enc'], 'default key')
      equal([x25519.crv, x25519.use], ['X25519', 'enc'], 'X25519 key')
      equal([es256.alg, es256.use], ['ES256', 'sig'], 'ES256 issuer')
      equal([eddsa.alg, eddsa.crv], ['EdDSA', 'Ed25519'], 'EdDSA issuer')
      assert(typeof p256.d === 'string' && !('d' in toPublicJwk(p256)), 'toPublicJwk must drop "d"')
    },
  },
  ...[
    ['P-256', 'ES256'],
    ['X25519', 'EdDSA'],
  ].map(([curve, alg]) => ({
    name: `mint and open: ${curve} token signed ${alg}`,
    async run() {
      const { keyring, issuer, opener } = await setup({ curve, alg })
      const token = await mint(grantFor(['api.example.com'], { methods: ['GET'] }), {
        to: keyring.publicJwks(),
        signWith: issuer,
      })
      equal(token.split('.').length, 5, 'compact JWE parts')
      const grant = await opener.open(token)
      equal(grant.hosts, ['api.example.com'], 'hosts')
      equal(grant.inject[0].value, SECRET, 'credential')
      equal(grant.issuerKid, toPublicJwk(issuer).kid, 'issuerKid')
    },
  })),
  {
    name: 'open refuses an unsigned token and one from an untrusted issuer',
    async run() {
      const { keyring, opener } = await setup()
      const unsigned = await mint(grantFor(['api.example.com']), { to: keyring.publicJwks() })
      equal(await failureCode(() => opener.open(unsigned)), 'invalid_token', 'unsigned token')
      const stranger = await generateKey({ use: 'sig' })
      const foreign = await mint(grantFor(['api.example.com']), {
        to: keyring.publicJwks(),
        signWith: stranger,
      })
      equal(await failureCode(() => opener.open(foreign)), 'invalid_token', 'untrusted issuer')
    },
  },
  {
    name: 'attenuate narrows a token that still opens',
    async run() {
      const { keyring, issuer, opener } = await setup({ curve: 'X25519' })
      const wide = await mint(grantFor(['api.example.com']), { to: keyring.publicJwks(), signWith: issuer })
      const narrow = await attenuate(
        wide,
        { paths: ['/v1/**'], methods: ['GET'], ttl: '1m' },
        {
          to: keyring.publicJwks(),
        },
      )
      const grant = await opener.open(narrow)
      equal(grant.chain?.length, 2, 'layers in the chain')
      equal(grant.layers?.[0], { paths: ['/v1/**'], methods: ['GET'] }, 'outer layer')
      equal(grant.inject[0].value, SECRET, 'credential from the inner grant')
      equal(
        await failureCode(() =>
          attenuate(wide, { hosts: ['evil.example.net'] }, { to: keyring.publicJwks() }),
        ),
        'invalid_grant',
        'widening the hosts',
      )
    },
  },
  {
    name: 'authorize allows the granted target and denies the rest',
    async run() {
      const grant = { hosts: ['api.example.com'], paths: ['/v1/**'], methods: ['GET'] }
      const target = authorize(grant, { method: 'GET', url: 'https://api.example.com/v1/items?page=2' })
      equal([target.scheme, target.host, target.port], ['https', 'api.example.com', 443], 'target')
      const deny = (method, url) => failureCode(() => authorize(grant, { method, url }))
      equal(await deny('GET', 'https://evil.example.net/v1/items'), 'host_not_allowed', 'other host')
      equal(await deny('GET', 'http://api.example.com/v1/items'), 'host_not_allowed', 'plain http')
      equal(await deny('GET', 'https://api.example.com/v2/items'), 'path_not_allowed', 'other path')
      equal(await deny('GET', 'https://api.example.com/v1/%2e%2e/admin'), 'path_not_allowed', 'dot-segment')
      equal(await deny('DELETE', 'https://api.example.com/v1/items'), 'method_not_allowed', 'other method')
    },
  },
  {
    name: 'createProxy (gateway, default fetch forwarder) injects the credential and drops the token',
    async run(ctx) {
      const { keyring, issuer, opener } = await setup()
      const host = hostOf(ctx.upstreamUrl)
      const handle = createProxy({ opener, upstream: ctx.upstreamUrl, allowHosts: [host] })
      const token = await mint(grantFor([host], { paths: ['/v1/**'] }), {
        to: keyring.publicJwks(),
        signWith: issuer,
      })
      const request = (path, headers) => new Request(`http://keyhole.test${path}`, { headers })
      const ok = await handle(request('/v1/items?page=2', { 'X-Keyhole-Token': token }))
      equal(ok.status, 200, 'status')
      equal(ok.headers.get('x-upstream'), 'recorder', 'upstream response header')
      await assertForwarded(ctx, token, '/v1/items?page=2')
      const denied = await handle(request('/admin', { 'X-Keyhole-Token': token }))
      equal(denied.status, 403, 'path outside the grant')
      const noToken = await handle(request('/v1/items', {}))
      equal(noToken.status, 401, 'no token')
      equal((await seen(ctx)).length, 0, 'requests forwarded after the refusals')
    },
  },
  {
    name: 'Hono app with keyhole() answers through app.fetch',
    async run(ctx) {
      const { keyring, issuer, opener } = await setup({ curve: 'X25519', alg: 'EdDSA' })
      const host = hostOf(ctx.upstreamUrl)
      const app = new Hono()
      app.all('/gw/*', keyhole({ opener, upstream: ctx.upstreamUrl, allowHosts: [host] }))
      const token = await mint(grantFor([host], { methods: ['POST'] }), {
        to: keyring.publicJwks(),
        signWith: issuer,
      })
      const response = await app.fetch(
        new Request('http://keyhole.test/gw/v1/messages', {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: '{"hello":"world"}',
        }),
      )
      equal(response.status, 200, 'status')
      const [received] = await seen(ctx).then((list) => {
        equal(list.length, 1, 'requests the upstream received')
        return list
      })
      equal(
        [received.method, received.path, received.body],
        ['POST', '/v1/messages', '{"hello":"world"}'],
        'request',
      )
      equal(received.headers.authorization, SECRET, 'injected Authorization')
      assert(!leaksToken(received, token), 'the upstream received the token')
      const wrongMethod = await app.fetch(
        new Request('http://keyhole.test/gw/v1/messages', { headers: { 'X-Keyhole-Token': token } }),
      )
      equal(wrongMethod.status, 403, 'GET under a POST-only grant')
      equal((await seen(ctx)).length, 0, 'requests forwarded after the refusal')
    },
  },
  {
    name: 'client createFetch with a key-bound token through the engine (open mode)',
    async run(ctx) {
      const { keyring, issuer, opener } = await setup()
      const host = hostOf(ctx.upstreamUrl)
      const handle = createProxy({ opener, allowHosts: [host] })
      const proofKey = await generateProofKey()
      const token = await mint(grantFor([host], { bindKey: proofKey.publicJwk }), {
        to: keyring.publicJwks(),
        signWith: issuer,
      })
      // The client's fetch goes straight into the engine: the proxy's own HTTP server is not
      // what this checks, the client and engine on this runtime are.
      const viaEngine = (input, init) => handle(new Request(input, init))
      const bound = createFetch({ proxy: 'http://keyhole.test', tokens: [token], proofKey, fetch: viaEngine })
      const response = await bound(`${ctx.upstreamUrl}/bound?q=1`)
      equal(response.status, 200, 'status with a proof')
      await assertForwarded(ctx, token, '/bound?q=1')

      const unproven = createFetch({ proxy: 'http://keyhole.test', tokens: [token], fetch: viaEngine })
      equal((await unproven(`${ctx.upstreamUrl}/bound`)).status, 401, 'status without a proof')

      // A proof made by hand works once; the same proof again is a replay.
      const url = `${ctx.upstreamUrl}/manual`
      const proof = await createProof(proofKey, { method: 'GET', url, token })
      const manual = () =>
        handle(
          new Request(`http://keyhole.test/http/${new URL(url).host}/manual`, {
            headers: { 'X-Keyhole-Token': token, 'Keyhole-Proof': proof },
          }),
        )
      equal((await manual()).status, 200, 'status with a hand-made proof')
      equal((await manual()).status, 401, 'status of a replayed proof')
      equal((await seen(ctx)).length, 1, 'requests forwarded (the replay must not be)')
    },
  },
]

/**
 * Checks that need the runtime to serve HTTP itself (ctx.serve): the engine and a Hono app behind
 * Bun.serve / Deno.serve / node:http, called over real sockets. Not run under workerd, whose
 * checks already go through Miniflare's HTTP front.
 */
export const servedChecks = [
  {
    name: "the engine and a Hono app behind this runtime's own HTTP server",
    async run(ctx) {
      const { keyring, issuer, opener } = await setup()
      const host = hostOf(ctx.upstreamUrl)
      const options = { opener, upstream: ctx.upstreamUrl, allowHosts: [host] }
      const app = new Hono()
      app.all('/gw/*', keyhole(options))
      const token = await mint(grantFor([host]), { to: keyring.publicJwks(), signWith: issuer })
      const engine = await ctx.serve(createProxy(options))
      // As Deno and Bun users serve Hono: the runtime's second argument becomes c.env.
      const hono = await ctx.serve((request, info) => app.fetch(request, info))
      try {
        for (const url of [`${engine.url}/v1/served`, `${hono.url}/gw/v1/served`]) {
          const response = await fetch(url, { headers: { 'X-Keyhole-Token': token } })
          equal(response.status, 200, `status from ${url}`)
          await response.body?.cancel()
          await assertForwarded(ctx, token, '/v1/served')
        }
      } finally {
        await engine.close()
        await hono.close()
      }
    },
  },
]
