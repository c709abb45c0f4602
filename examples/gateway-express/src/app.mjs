// An existing Express API that gains a keyhole gateway next to its own routes.
import { createMemoryStore, createOpener } from '@keyhole/core'
import { health, jwks, keyhole, revoke } from '@keyhole/express'
import express from 'express'

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
  const app = express()
  const revocations = options.revocations ?? createMemoryStore()
  // One opener for both mounts: it holds the verified-grant cache and checks revocation on every request.
  const opener = createOpener({ keyring: options.keyring, issuers: options.issuers, revocations })
  const onEvent = (event) =>
    options.log?.(
      `${event.status} ${event.outcome} ${event.method} ${event.host ?? '-'}${event.path ?? ''} jti=${event.jti ?? '-'}`,
    )

  // --- the API's own routes, unchanged ---
  app.get('/api/status', (_req, res) => {
    res.json({ service: 'notes', ok: true })
  })
  const notes = []
  // Body parsers go on the routes that need them: a global express.json() would consume the
  // bodies keyhole must stream upstream (keyhole() refuses such requests with an explanation).
  app.post('/api/notes', express.json(), (req, res) => {
    notes.push(String(req.body?.text ?? ''))
    res.status(201).json({ id: notes.length })
  })

  // --- keyhole ---
  app.get('/.well-known/jwks.json', jwks(options.keyring))
  app.get('/healthz', health())
  if (options.adminToken) app.post('/keyhole/revoke', revoke({ opener, adminToken: options.adminToken }))
  // Gateway mode: /github/<path> goes to the one upstream this gateway fronts; the token's
  // policy is still checked against the full target URL.
  const gateway = keyhole({ opener, upstream: options.upstream, onEvent })
  app.use('/github', gateway)
  // Open mode: /proxy/<scheme>/<host[:port]>/<path> for any host a token allows.
  const open = keyhole({ opener, onEvent })
  app.use('/proxy', open)

  return {
    app,
    /** Closes the pooled upstream connections and the revocation sweeper. */
    close() {
      gateway.close()
      open.close()
      if (!options.revocations) revocations.close()
    },
  }
}
