// The sandbox demo: a child process that holds only a keyhole token and the proxy's URL calls an
// API that needs a real credential. The API receives the credential; the child never sees it;
// its attempts to read it back or send it elsewhere are refused.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { createKeyring, createMemoryStore, createOpener, generateKey, mint, toPublicJwk } from '@keyhole/core'
import { createNodeForwarder } from '@keyhole/core/node'
import { jwks, keyhole } from '@keyhole/hono'
import { Hono } from 'hono'
import { startAttacker, startFakeApi } from './fake-servers.mjs'

const childScript = fileURLToPath(new URL('./sandbox-child.mjs', import.meta.url))

/**
 * Starts the keyhole proxy (what `keyhole serve` runs) on 127.0.0.1. It honours only tokens
 * signed by one of `issuers` (public issuer keys).
 */
async function startProxy(keyring, issuers, revocations) {
  const forward = createNodeForwarder()
  const events = []
  const app = new Hono()
  app.get('/.well-known/jwks.json', jwks(keyring))
  app.all(
    '/*',
    keyhole({
      opener: createOpener({ keyring, issuers, revocations }),
      forward,
      onEvent: (e) => events.push(e),
    }),
  )
  const { server, url } = await new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve({ server, url: `http://127.0.0.1:${info.port}` }),
    )
  })
  return {
    url,
    events,
    close: () =>
      new Promise((resolve) => {
        forward.destroy()
        server.close(resolve)
      }),
  }
}

/** Runs the child with an environment that holds only what it is given. */
function runChild(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/**
 * Runs the whole demo and returns what everyone saw.
 * @param {{ log?: (line: string) => void }} [options]
 */
export async function runDemo(options = {}) {
  const log = options.log ?? (() => {})
  // The real credential lives here, in the trusted parent, and nowhere else.
  const credential = `ghp_${randomBytes(18).toString('hex')}`
  const api = await startFakeApi(credential)
  const attacker = await startAttacker()
  const keyring = createKeyring([await generateKey()])
  // The issuer key signs tokens; it stays on the trusted side. The proxy trusts its public half.
  const issuer = await generateKey({ use: 'sig' })
  const issuers = [toPublicJwk(issuer)]
  const revocations = createMemoryStore()
  const proxy = await startProxy(keyring, issuers, revocations)
  try {
    log(`API ${api.url}, attacker ${attacker.url}, keyhole proxy ${proxy.url}`)

    // The trusted side mints a token: only GET /user on the API, for five minutes.
    const token = await mint(
      {
        hosts: [api.url],
        paths: ['/user'],
        methods: ['GET'],
        inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${credential}` }],
        ttl: '5m',
        sub: 'sandbox-demo',
      },
      { to: keyring.publicJwks(), signWith: issuer },
    )
    log('minted a token for GET /user; starting the sandboxed child with the token and the proxy URL only')

    const child = await runChild({
      PATH: process.env.PATH ?? '',
      KEYHOLE_PROXY: proxy.url,
      KEYHOLE_TOKEN: token,
      API_URL: api.url,
      ATTACKER_URL: attacker.url,
    })
    const steps = child.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
    for (const step of steps) if (step.step !== 'environment') log(`child: ${JSON.stringify(step)}`)

    // The attacker now holds the token (step 5). A token is a bearer token: through this proxy
    // and within its policy it works until it expires or is revoked. So revoke it.
    const stolen = attacker.received.find((request) => request.body.split('.').length === 5)?.body
    const replay = () =>
      fetch(`${proxy.url}/http/${new URL(api.url).host}/user`, { headers: { 'x-keyhole-token': stolen } })
    const beforeRevoke = await replay()
    await beforeRevoke.body?.cancel()
    const { jti, exp } = await createOpener({ keyring, issuers, revocations }).open(token)
    await revocations.revoke(jti, new Date(exp * 1000))
    const afterRevoke = await replay()
    await afterRevoke.body?.cancel()
    log(
      `attacker replays the stolen token: ${beforeRevoke.status}; after revoking ${jti}: ${afterRevoke.status}`,
    )

    return {
      credential,
      token,
      child: { ...child, steps },
      apiRequests: api.requests,
      attackerReceived: attacker.received,
      proxyEvents: proxy.events,
      replay: {
        beforeRevoke: beforeRevoke.status,
        afterRevoke: afterRevoke.status,
        afterRevokeCode: afterRevoke.headers.get('x-keyhole-error'),
      },
    }
  } finally {
    revocations.close()
    await proxy.close()
    await api.close()
    await attacker.close()
  }
}
