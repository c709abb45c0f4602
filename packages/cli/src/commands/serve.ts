import { resolve } from 'node:path'
import { createCachingStore, type RevocationStore } from '@keyhole/core'
import { adminTokenFromEnv } from '../admin-token.js'
import { EXIT_OK, usageError } from '../cli-error.js'
import type { Command } from '../command.js'
import type { CliIo } from '../io.js'
import { type OpenedStore, openStore } from '../open-store.js'
import { many, parseCommand, required, single } from '../parse.js'
import { startServer } from '../server.js'

const help = `Usage: keyhole serve --keys keys.json [--port 8787] [--host 127.0.0.1]
                     [--admin-token-env <VAR>] [--store <url>] [--token-header <name>...]
                     [--decrypt-threads <n>]

Runs the standalone keyhole proxy. Sandboxed code calls
  http://<host>:<port>/<https|http>/<api-host[:port]>/<path>?<query>
with its token in X-Keyhole-Token (or Authorization: Bearer, or a --token-header); the proxy opens
the token, checks its policy, strips what could carry authority, injects the real credential and
forwards. Also serves:
  GET  /.well-known/jwks.json   the public keys (for 'keyhole mint --jwks <url>')
  GET  /healthz                 200 while the process serves requests
  POST /revoke, POST /mint      with --admin-token-env only (Authorization: Bearer <admin token>)

Logs one line per request on stdout (status, outcome, method, target, jti, sub; never a token or
credential). On SIGHUP it reads the key file again and swaps the keys in without dropping the
requests in flight; a broken file is reported and the old keys stay. SIGINT/SIGTERM stop it.

Options:
  --keys <file>            the private key set written by 'keyhole keygen'
  --port <n>               port to listen on (default: 8787; 0 picks a free one)
  --host <address>         address to listen on (default: 127.0.0.1, this machine only)
  --admin-token-env <VAR>  the NAME of the environment variable holding the admin token that
                           enables /revoke and /mint
  --store <url>            share revocations with other replicas: redis://host:6379 or
                           postgres://user@host:5432/db (default: in memory, this process only)
  --token-header <name>    another header that may carry the token, e.g. x-api-key so an SDK
                           works with only its base URL and API key changed (repeatable)
  --decrypt-threads <n>    decrypt tokens not seen before on n worker threads, for traffic where
                           most tokens are fresh (default: 0, on the main thread)
  -h, --help               show this help

Example:
  export KEYHOLE_ADMIN_TOKEN=$(openssl rand -hex 32)
  keyhole serve --keys keys.json --admin-token-env KEYHOLE_ADMIN_TOKEN
`

/** `keyhole serve`: the standalone proxy. */
export const serveCommand: Command = {
  name: 'serve',
  help,
  async run(argv, io) {
    const parsed = parseCommand(
      {
        command: 'serve',
        options: {
          keys: { type: 'string' },
          port: { type: 'string' },
          host: { type: 'string' },
          'admin-token-env': { type: 'string' },
          store: { type: 'string' },
          'token-header': { type: 'string', multiple: true },
          'decrypt-threads': { type: 'string' },
        },
      },
      argv,
    )
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const { values } = parsed
    const keysFile = required(values.keys, '--keys', "the private key set written by 'keyhole keygen'")
    const port = parsePort(single(values.port))
    const hostname = single(values.host) ?? '127.0.0.1'
    const envName = single(values['admin-token-env'])
    const adminToken = envName === undefined ? undefined : adminTokenFromEnv(envName, io.env)
    const tokenHeaders = many(values['token-header'])
    for (const name of tokenHeaders)
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
        throw usageError('--token-header takes a header name, e.g. x-api-key')
    const storeUrl = single(values.store)
    const decryptThreads = parseThreads(single(values['decrypt-threads']))

    const line = (text: string) => io.stdout(`${text}\n`)
    let opened: OpenedStore | undefined
    let revocations: RevocationStore | undefined
    let closeCache = () => {}
    if (storeUrl !== undefined) {
      opened = await openStore(storeUrl, { onError: (message) => io.stderr(`${message}\n`) })
      // The caching wrapper subscribes to the store's push feed, so a revoke made on any replica
      // lands here at once; ready() waits until that subscription is live.
      const cache = createCachingStore(opened.store)
      closeCache = () => cache.close()
      revocations = cache
      try {
        await opened.ready()
      } catch (error) {
        cache.close()
        await opened.close()
        throw error
      }
    }

    let server: Awaited<ReturnType<typeof startServer>>
    try {
      server = await startServer({
        keys: resolve(io.cwd, keysFile),
        keysShown: keysFile,
        port,
        hostname,
        ...(adminToken !== undefined ? { adminToken } : {}),
        ...(revocations ? { revocations } : {}),
        ...(tokenHeaders.length > 0 ? { tokenHeaders } : {}),
        ...(decryptThreads > 0 ? { decryptThreads } : {}),
        log: line,
        warn: (text) => io.stderr(text),
      })
    } catch (error) {
      closeCache()
      await opened?.close()
      throw error
    }

    // Signal handlers go in before the banner: whoever waits for "listening on" may send SIGHUP or
    // SIGTERM at once, and without a handler Node would die of it instead of handling it.
    const stopped = waitForSignals(io, server, keysFile, async () => {
      closeCache()
      await opened?.close()
    })
    printBanner(io, server.url, {
      keysFile,
      kids: server.kids(),
      envName,
      store: opened?.display,
      tokenHeaders,
      hostname,
    })
    return stopped
  },
}

function parseThreads(value: string | undefined): number {
  if (value === undefined) return 0
  const threads = Number(value)
  if (!/^\d{1,2}$/.test(value) || threads > 64)
    throw usageError('--decrypt-threads must be a number from 0 to 64')
  return threads
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return 8787
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65535) throw usageError('--port must be a number from 0 to 65535')
  return port
}

function printBanner(
  io: CliIo,
  url: string,
  info: {
    keysFile: string
    kids: readonly string[]
    envName: string | undefined
    store: string | undefined
    tokenHeaders: readonly string[]
    hostname: string
  },
): void {
  const out = (text: string) => io.stdout(`${text}\n`)
  out(`keyhole proxy listening on ${url}`)
  out(
    `  keys        ${info.keysFile} (${info.kids.length} key${info.kids.length === 1 ? '' : 's'}; current kid ${info.kids.at(-1)})`,
  )
  out(`  JWKS        ${url}/.well-known/jwks.json`)
  out(`  call        ${url}/https/<host>/<path> with header X-Keyhole-Token: <token>`)
  out(
    `  admin       ${info.envName ? `POST ${url}/revoke and ${url}/mint (admin token from $${info.envName})` : 'off (enable with --admin-token-env <VAR>)'}`,
  )
  out(`  revocation  ${info.store ?? 'in memory (this process only)'}`)
  if (info.tokenHeaders.length > 0) out(`  token also  in ${info.tokenHeaders.join(', ')}`)
  if (!['127.0.0.1', 'localhost', '::1'].includes(info.hostname))
    io.stderr(
      `warning: listening on ${info.hostname}: anyone who can reach this port can use the tokens they hold through it\n`,
    )
}

function waitForSignals(
  io: CliIo,
  server: Awaited<ReturnType<typeof startServer>>,
  keysFile: string,
  cleanup: () => Promise<void>,
): Promise<number> {
  const onHangup = () => {
    server.reload().then(
      (kids) =>
        io.stdout(
          `${new Date().toISOString()} reloaded ${keysFile}: ${kids.length} key${kids.length === 1 ? '' : 's'}, current kid ${kids.at(-1)}\n`,
        ),
      (error: unknown) =>
        io.stderr(
          `${new Date().toISOString()} reload failed, still using the previous keys: ${error instanceof Error ? error.message : 'unknown error'}\n`,
        ),
    )
  }
  return new Promise((resolveExit) => {
    let stopping = false
    const onStop = (signal: NodeJS.Signals) => {
      if (stopping) {
        io.stderr(`${signal} again: exiting now\n`)
        process.exit(130)
      }
      stopping = true
      io.stdout(`${new Date().toISOString()} ${signal}: finishing requests in flight, then stopping\n`)
      server
        .close()
        .then(cleanup)
        .finally(() => {
          process.off('SIGHUP', onHangup)
          process.off('SIGINT', onStop)
          process.off('SIGTERM', onStop)
          resolveExit(EXIT_OK)
        })
    }
    process.on('SIGHUP', onHangup)
    process.on('SIGINT', onStop)
    process.on('SIGTERM', onStop)
  })
}
