// Runs the example: `npm run build` at the repository root once, then
//   KEYHOLE_KEYS=keys.json node examples/gateway-express/src/main.mjs
import { readFileSync } from 'node:fs'
import { createKeyring, generateKey, toPublicJwk } from '@keyhole/core'
import { createApp } from './app.mjs'

const keysFile = process.env.KEYHOLE_KEYS
let keyring
let issuers
if (keysFile) {
  // A key set from `keyhole keygen`: its decryption keys ("use": "enc") open tokens, and the
  // public halves of its issuer keys ("use": "sig") are the issuers whose signed tokens count.
  const { keys } = JSON.parse(readFileSync(keysFile, 'utf8'))
  keyring = createKeyring(keys.filter((key) => key.use !== 'sig'))
  issuers = keys.filter((key) => key.use === 'sig').map((key) => toPublicJwk(key))
} else {
  console.warn(
    'KEYHOLE_KEYS is not set: using a throwaway key and issuer key (no token can be minted for them outside this process)',
  )
  keyring = createKeyring([await generateKey()])
  issuers = [toPublicJwk(await generateKey({ use: 'sig' }))]
}

const { app } = createApp({
  keyring,
  issuers,
  upstream: process.env.UPSTREAM ?? 'https://api.github.com',
  adminToken: process.env.KEYHOLE_ADMIN_TOKEN,
  log: (line) => console.log(line),
})
const port = Number(process.env.PORT ?? 3000)
app.listen(port, '127.0.0.1', () => {
  console.log(`notes API with a keyhole gateway on http://127.0.0.1:${port}`)
  console.log(`  JWKS   http://127.0.0.1:${port}/.well-known/jwks.json`)
  console.log(`  GitHub http://127.0.0.1:${port}/github/<path>  (X-Keyhole-Token: <token>)`)
})
