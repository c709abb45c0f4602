// An existing Hono API that gains a keyhole gateway next to its own routes.
import { createMemoryStore, createOpener } from '@keyhole/core'
import { createNodeForwarder } from '@keyhole/core/node'
import { health, jwks, keyhole, revoke } from '@keyhole/hono'
import { Hono } from 'hono'

/**
 * Builds the app.
 * @param {object} options
 * @param {import('@keyhole/core').Keyring} options.keyring the proxy's private keys
 * @param {import('@keyhole/core').IssuerOption[]} options.issuers the issuers whose signed tokens it honours:
 *   their public keys (`toPublicJwk(issuerKey)`, a JWKS, or a JWKS URL)
 * @param {string} options.upstream the API that /github/* forwards to (gateway mode), e.g. https://api.github.com
 * @param {string} [options.adminToken] enables POST /keyhole/revoke
 * @param {import('@keyhole/core').RevocationStore} [options.revocations] default: in memory
 * @param {(line: string) => void} [options.log] one line per proxied request
 */
export function createApp(options) {
  const app = new Hono()
  const revocations = options.revocations ?? createMemoryStore()
  const opener = createOpener({ keyring: options.keyring, issuers: options.issuers, revocations })
  // On Node, the node:http forwarder: keep-alive, byte-exact paths, and it checks the address it
  // dials. On Workers, Deno or Bun leave `forward` out and the engine uses fetch.
  const forward = createNodeForwarder()
  const onEvent = (event) =>
    options.log?.(
      `${event.status} ${event.outcome} ${event.method} ${event.host ?? '-'}${event.path ?? ''} jti=${event.jti ?? '-'}`,
    )

  // --- the API's own routes, unchanged ---
  const notes = []
  app.get('/api/status', (c) => c.json({ service: 'notes', ok: true }))
  app.post('/api/notes', async (c) => {
    const body = await c.req.json()
    notes.push(String(body?.text ?? ''))
    return c.json({ id: notes.length }, 201)
  })

  // --- keyhole ---
  app.get('/.well-known/jwks.json', jwks(options.keyring))
  app.get('/healthz', health())
  if (options.adminToken) app.post('/keyhole/revoke', revoke({ opener, adminToken: options.adminToken }))
  // Gateway mode: /github/<path> goes to the one upstream this gateway fronts; the token's
  // policy is still checked against the full target URL.
  app.all('/github/*', keyhole({ opener, upstream: options.upstream, forward, onEvent }))
  // Open mode: /proxy/<scheme>/<host[:port]>/<path> for any host a token allows.
  app.all('/proxy/*', keyhole({ opener, forward, onEvent }))

  return {
    app,
    /** Closes the pooled upstream connections and the revocation sweeper. */
    close() {
      forward.destroy()
      if (!options.revocations) revocations.close()
    },
  }
}
