// Runs the example: `npm run build` at the repository root once, then
//   KEYHOLE_KEYS=keys.json node examples/gateway-hono/src/main.mjs
import { readFileSync } from 'node:fs'
import { serve } from '@hono/node-server'
import { createKeyring, generateKey } from '@keyhole/core'
import { createApp } from './app.mjs'

const keysFile = process.env.KEYHOLE_KEYS
let keyring
if (keysFile) {
  keyring = createKeyring(JSON.parse(readFileSync(keysFile, 'utf8')))
} else {
  console.warn('KEYHOLE_KEYS is not set: using a throwaway key (tokens stop working when this process exits)')
  keyring = createKeyring([await generateKey()])
}

const { app } = createApp({
  keyring,
  upstream: process.env.UPSTREAM ?? 'https://api.github.com',
  adminToken: process.env.KEYHOLE_ADMIN_TOKEN,
  log: (line) => console.log(line),
})
const port = Number(process.env.PORT ?? 3000)
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => {
  console.log(`notes API with a keyhole gateway on http://127.0.0.1:${port}`)
  console.log(`  JWKS   http://127.0.0.1:${port}/.well-known/jwks.json`)
  console.log(`  GitHub http://127.0.0.1:${port}/github/<path>  (X-Keyhole-Token: <token>)`)
})
