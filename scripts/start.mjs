// `npm start`: the keyhole proxy for development, with nothing to configure.
// Builds the CLI if needed (quietly), creates a development keyring and admin token under .keyhole/ on the
// first run (git-ignored), and runs `keyhole serve` on 127.0.0.1 (port 8787, or $PORT) with
// in-memory revocation. Prints the JWKS URL and a ready-to-paste `keyhole mint` command.
// KEYHOLE_DEV_DIR puts the development state somewhere other than .keyhole/ (the tests use it).
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { ensureBuilt, isStale } from '../packages/cli/scripts/ensure-built.mjs'

const root = new URL('..', import.meta.url).pathname
const stateDir = process.env.KEYHOLE_DEV_DIR ? resolve(process.env.KEYHOLE_DEV_DIR) : join(root, '.keyhole')
const keysFile = join(stateDir, 'keys.json')
const adminFile = join(stateDir, 'admin-token')
const port = process.env.PORT ?? '8787'

if (!/^\d+$/.test(port) || Number(port) > 65535) {
  console.error(`PORT must be a port number, not ${JSON.stringify(port)}`)
  process.exit(2)
}

let bin
try {
  // One line instead of tsup's listing; the build's output is shown only when it fails.
  if (isStale()) process.stderr.write('building the keyhole CLI (first run or changed sources)...\n')
  bin = ensureBuilt({ quiet: true })
} catch (error) {
  console.error(error.message)
  process.exit(1)
}

mkdirSync(stateDir, { recursive: true, mode: 0o700 })
if (!existsSync(keysFile)) {
  const result = spawnSync(process.execPath, [bin, 'keygen', '--out', keysFile], { encoding: 'utf8' })
  if (result.status !== 0) {
    process.stderr.write(result.stderr)
    process.exit(result.status ?? 1)
  }
  console.log(`created a development key set in ${relative(process.cwd(), keysFile)}`)
}
if (!existsSync(adminFile)) {
  writeFileSync(adminFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 })
}
// A key set from before issuer keys existed gets a signing key, so the minted tokens are signed.
if (!readFileSync(keysFile, 'utf8').includes('"sig"')) {
  const result = spawnSync(process.execPath, [bin, 'keygen', '--out', keysFile, '--add'], {
    encoding: 'utf8',
  })
  if (result.status !== 0) {
    process.stderr.write(result.stderr)
    process.exit(result.status ?? 1)
  }
}
const adminToken = readFileSync(adminFile, 'utf8').trim()

const child = spawn(
  process.execPath,
  [
    bin,
    'serve',
    '--keys',
    relative(process.cwd(), keysFile) || keysFile,
    '--port',
    port,
    '--host',
    '127.0.0.1',
    '--admin-token-env',
    'KEYHOLE_ADMIN_TOKEN',
  ],
  { env: { ...process.env, KEYHOLE_ADMIN_TOKEN: adminToken }, stdio: ['ignore', 'pipe', 'inherit'] },
)

let buffered = ''
let announced = false
child.stdout.setEncoding('utf8')
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  if (announced) return
  buffered += chunk
  const match = /listening on (http:\/\/\S+)/.exec(buffered)
  if (!match || !buffered.includes('revocation')) return
  announced = true
  buffered = ''
  const url = match[1]
  const adminShown = relative(process.cwd(), adminFile)
  process.stdout.write(`
JWKS URL: ${url}/.well-known/jwks.json

Mint a token, signed with the development key set's issuer key, which the proxy trusts (the
credential is read by keyhole from $API_TOKEN, so it never appears in argv):

  export API_TOKEN=your-real-api-token
  TOKEN=$(npx keyhole mint --keys ${relative(process.cwd(), keysFile)} \\
    --host api.github.com --method GET --header 'Authorization: Bearer \${API_TOKEN}' --ttl 1h)

Call through the proxy with only the token:

  curl -H "X-Keyhole-Token: $TOKEN" ${url}/https/api.github.com/user

Find the token's jti, then revoke it (the admin token is in ${adminShown}):

  printf %s "$TOKEN" | npx keyhole inspect - --keys ${relative(process.cwd(), keysFile)}
  KEYHOLE_ADMIN_TOKEN=$(cat ${adminShown}) npx keyhole revoke <jti> --url ${url} --admin-token-env KEYHOLE_ADMIN_TOKEN

Ctrl-C stops the proxy; kill -HUP ${child.pid} reloads ${relative(process.cwd(), keysFile)}.
`)
})

// Signals go to the proxy, which finishes requests in flight before it exits.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null) child.kill(signal)
  })
}
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0))
})
