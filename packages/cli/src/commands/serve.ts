import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import {
  createCachingStore,
  type IssuerOption,
  isKeyholeError,
  type ReplayCache,
  type RevocationStore,
  toSeconds,
} from '@keyhole/core'
import { serverAdminToken } from '../admin-token.js'
import { EXIT_OK, usageError } from '../cli-error.js'
import type { Command } from '../command.js'
import type { CliIo } from '../io.js'
import { type OpenedStore, openStore } from '../open-store.js'
import { many, parseCommand, required, single } from '../parse.js'
import { loadPluginInjectors } from '../plugin-injectors.js'
import { parseScrub, scrubWarning } from '../scrub-mode.js'
import { startServer } from '../server.js'
import { STORE_ARGV_WARNING, storeUrlFromEnv } from '../store-url.js'
import { trustIssuer } from '../trust-issuer.js'
import { waitForStore } from '../wait-for-store.js'
import { readCertificateAuthority } from './ca.js'

const help = `Usage: keyhole serve --keys keys.json [--port 8787 (or $PORT)] [--host 127.0.0.1]
                     [--admin-token-env <VAR>] [--store-env <VAR>] [--token-header <name>...]
                     [--trust-issuer <jwks file|url>[=<pattern>,...]...]
                     [--allow-host <pattern>...] [--allow-private [CIDR...]] [--accept-unsigned]
                     [--ca ca.json] [--metrics] [--metrics-public] [--decrypt-threads <n>]
                     [--drain-delay 0s] [--drain-timeout 10s]
                     [--scrub on|headers|off]

Runs the standalone keyhole proxy. Sandboxed code calls
  http://<host>:<port>/<https|http>/<api-host[:port]>/<path>?<query>
with its token in X-Keyhole-Token (or Authorization: Bearer, or a --token-header); the proxy opens
the token, checks its policy, strips what could carry authority, injects the real credential and
forwards. Also serves:
  GET  /.well-known/jwks.json   the public keys (for 'keyhole mint --jwks <url>')
  GET  /healthz                 200 while the process serves requests
  GET  /readyz                  200 when ready (503 while stopping, or when the store is down)
  POST /revoke, POST /mint      with --admin-token-env only (Authorization: Bearer <admin token>)
  GET  /metrics                 with --metrics: Prometheus text (admin token unless --metrics-public)

The same port takes forward-proxy requests from unmodified tools (HTTP_PROXY/HTTPS_PROXY set to
http://keyhole:<token>@<host>:<port>; 'keyhole run' sets them up): plain-HTTP proxy requests
always, CONNECT (HTTPS) only with --ca. The token then comes from Proxy-Authorization only.

Logs one line per request on stdout (status, outcome, method, target, jti, sub; never a token or
credential). On SIGHUP it reads the key file again and swaps the keys in without dropping the
requests in flight; a broken file is reported and the old keys stay. SIGINT/SIGTERM drain it:
/readyz answers 503 at once, connections are still accepted for --drain-delay, then the listener
closes and requests in flight get up to --drain-timeout to finish (then they are cut); exit code 0.

Options:
  --keys <file>            the private key set written by 'keyhole keygen'
  --port <n>               port to listen on (default: $PORT, else 8787; 0 picks a free one)
  --host <address>         address to listen on (default: 127.0.0.1, this machine only)
  --admin-token-env <VAR>  the NAME of the environment variable holding the admin token that
                           enables /revoke and /mint (at least 32 bytes: openssl rand -base64 32)
  --store-env <VAR>        the NAME of the environment variable holding the URL of a revocation
                           store shared with other replicas: redis://host:6379 or
                           postgres://user@host:5432/db (default: in memory, this process only).
                           Used proofs of possession (Keyhole-Proof ids) are claimed there too,
                           so a proof accepted by one replica is refused by every other
  --store <url>            the same, from the command line (warns: argv is visible to other users)
  --trust-issuer <jwks file|url>[=<pattern>,...]
                           also honour tokens signed by this issuer (its public keys: a file from
                           'keyhole jwks --issuer', or a JWKS URL), optionally only for hosts the
                           patterns cover (repeatable). The key file's own issuer keys are always
                           trusted
  --allow-host <pattern>   bound all egress: every target must also match one of these host
                           patterns (repeatable; default: any public host)
  --allow-private [CIDR...] let tokens reach private, loopback and link-local addresses: all of
                           them, or only the ranges given (several, or repeated). Default: only a signed
                           token that names the address itself
  --accept-unsigned        also honour unsigned tokens (old form); needs --allow-host, and warns
  --token-header <name>    another header that may carry the token, e.g. x-api-key so an SDK
                           works with only its base URL and API key changed (repeatable)
  --ca <file>              answer CONNECT with TLS interception, issuing certificates from the
                           certificate authority written by 'keyhole ca init' (clients trust
                           'keyhole ca cert'). Without it CONNECT is refused: 403 connect_disabled
  --scrub <mode>           mask the injected credentials (raw, base64, percent-encoded, hex,
                           JSON-escaped) wherever an upstream echoes them back: on (default,
                           response headers and bodies; asks upstream for uncompressed bodies and
                           drops Range), headers (headers only) or off
  --metrics                serve GET /metrics (Prometheus text: requests by outcome, durations,
                           opens, cache hits, revocation errors, process metrics), to callers
                           with the admin token (needs --admin-token-env)
  --metrics-public         serve /metrics to anyone who can reach the port (implies --metrics)
  --decrypt-threads <n>    decrypt tokens not seen before on up to n worker threads (default: one
                           per CPU, here ${availableParallelism()}); none run until the first such token, and each
                           stops after 30 s without work. 0: decrypt on the main thread
  --drain-delay <time>     on SIGTERM, keep accepting connections this long after /readyz turns
                           503, e.g. 5s: set it to the load balancer's probe interval (default: 0s)
  --drain-timeout <time>   then wait this long for requests in flight before cutting them
                           (default: 10s)
  -h, --help               show this help

Example:
  export KEYHOLE_ADMIN_TOKEN="$(openssl rand -base64 32)"
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
        paths: ['keys', 'trust-issuer', 'ca'],
        options: {
          keys: { type: 'string' },
          port: { type: 'string' },
          host: { type: 'string' },
          'admin-token-env': { type: 'string' },
          store: { type: 'string' },
          'store-env': { type: 'string' },
          'token-header': { type: 'string', multiple: true },
          'decrypt-threads': { type: 'string' },
          'trust-issuer': { type: 'string', multiple: true },
          'allow-host': { type: 'string', multiple: true },
          'allow-private': { type: 'string', multiple: true },
          'accept-unsigned': { type: 'boolean' },
          ca: { type: 'string' },
          scrub: { type: 'string' },
          metrics: { type: 'boolean' },
          'metrics-public': { type: 'boolean' },
          'drain-delay': { type: 'string' },
          'drain-timeout': { type: 'string' },
        },
      },
      withOptionalValue(argv, '--allow-private', ALL_PRIVATE),
    )
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const { values } = parsed
    const keysFile = required(values.keys, '--keys', "the private key set written by 'keyhole keygen'")
    const port = parsePort(single(values.port), io.env.PORT)
    const hostname = single(values.host) ?? '127.0.0.1'
    const envName = single(values['admin-token-env'])
    const adminToken = envName === undefined ? undefined : serverAdminToken(envName, io.env)
    const metricsPublic = values['metrics-public'] === true
    const metrics = values.metrics === true || metricsPublic
    // Metrics say which upstreams are used how often: not for whoever happens to reach the port.
    if (metrics && !metricsPublic && adminToken === undefined)
      throw usageError(
        '--metrics needs --admin-token-env <VAR> (/metrics answers only to Authorization: Bearer <admin token>), or --metrics-public to serve it to anyone who can reach the port',
      )
    const tokenHeaders = many(values['token-header'])
    for (const name of tokenHeaders)
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
        throw usageError('--token-header takes a header name, e.g. x-api-key')
    const storeArg = single(values.store)
    const storeEnv = single(values['store-env'])
    if (storeArg !== undefined && storeEnv !== undefined)
      throw usageError('give either --store-env <VAR> or --store <url>, not both')
    const storeUrl = storeEnv !== undefined ? storeUrlFromEnv(storeEnv, io.env) : storeArg
    if (storeArg !== undefined) io.stderr(STORE_ARGV_WARNING)
    const decryptThreads = parseThreads(single(values['decrypt-threads']))
    const drainDelayMs = parseDuration(single(values['drain-delay']), '--drain-delay', 0)
    const drainTimeoutMs = parseDuration(single(values['drain-timeout']), '--drain-timeout', 10_000)
    const allowHosts = many(values['allow-host'])
    const acceptUnsigned = values['accept-unsigned'] === true
    if (acceptUnsigned && allowHosts.length === 0)
      throw usageError(
        '--accept-unsigned needs --allow-host <pattern>...: anyone can mint an unsigned token, so without a bound the proxy would relay anywhere',
      )
    const privateRanges = many(values['allow-private']).flatMap((value) => value.split(','))
    const allowPrivateAddresses = privateRanges.includes(ALL_PRIVATE) ? true : privateRanges
    const trustIssuers: IssuerOption[] = []
    for (const spec of many(values['trust-issuer'])) trustIssuers.push(await trustIssuer(spec, io.cwd))
    const scrub = parseScrub(single(values.scrub))
    const caFile = single(values.ca)
    const ca =
      caFile === undefined ? undefined : await readCertificateAuthority(resolve(io.cwd, caFile), caFile)

    const line = (text: string) => io.stdout(`${text}\n`)
    let opened: OpenedStore | undefined
    let revocations: RevocationStore | undefined
    let replayCache: ReplayCache | undefined
    let closeCache = () => {}
    if (storeUrl !== undefined) {
      opened = await openStore(storeUrl, {
        onError: (message) => io.stderr(`${message}\n`),
        ...(storeEnv !== undefined ? { source: `$${storeEnv} (--store-env)` } : {}),
      })
      // The caching wrapper subscribes to the store's push feed, so a revoke made on any replica
      // lands here at once; ready() waits until that subscription is live.
      const cache = createCachingStore(opened.store)
      closeCache = () => cache.close()
      revocations = cache
      // Proofs of possession are claimed in the same store, so one replica's used proof is
      // refused by every other. A store that does not answer at start is waited for in the
      // background: the proxy serves meanwhile, /readyz says 503 and every request that needs the
      // store is 503 revocation_unavailable (fail closed), until it answers.
      const waiting = waitForStore(opened, (text) => io.stderr(`${text}\n`))
      replayCache = waiting.replayCache
      const stopWaiting = waiting.stop
      const closeStore = closeCache
      closeCache = () => {
        stopWaiting()
        closeStore()
      }
      // A store that is up answers within this; one that is down (Redis retries for up to 5 s)
      // must not keep the port closed: the proxy listens with /readyz 503 until it answers.
      await firstOrAfter(waiting.first, FIRST_STORE_WAIT_MS)
    }

    // Credential types beyond core's (aws-sigv4): a grant that uses one opens with no flag.
    const injectors = await loadPluginInjectors()
    const scrubbing = scrubWarning(scrub)
    if (scrubbing) io.stderr(scrubbing)
    let server: Awaited<ReturnType<typeof startServer>>
    try {
      server = await startServer({
        injectors,
        scrub,
        keys: resolve(io.cwd, keysFile),
        keysShown: keysFile,
        port,
        hostname,
        ...(adminToken !== undefined ? { adminToken } : {}),
        ...(revocations ? { revocations } : {}),
        ...(replayCache ? { replayCache } : {}),
        ...(tokenHeaders.length > 0 ? { tokenHeaders } : {}),
        decryptThreads,
        ...(trustIssuers.length > 0
          ? {
              trustIssuers,
              // SIGHUP reads the --trust-issuer files (and URLs) again, with the key file.
              reloadTrustIssuers: async () => {
                const fresh: IssuerOption[] = []
                for (const spec of many(values['trust-issuer'])) fresh.push(await trustIssuer(spec, io.cwd))
                return fresh
              },
            }
          : {}),
        ...(allowHosts.length > 0 ? { allowHosts } : {}),
        ...(allowPrivateAddresses === true || allowPrivateAddresses.length > 0
          ? { allowPrivateAddresses }
          : {}),
        ...(acceptUnsigned ? { acceptUnsigned } : {}),
        ...(ca ? { ca } : {}),
        ...(metrics ? { metrics: { public: metricsPublic } } : {}),
        log: line,
        warn: (text) => io.stderr(text),
      })
    } catch (error) {
      closeCache()
      await opened?.close()
      // The engine refuses an unsafe or malformed setup (a bad pattern or CIDR range) at start.
      if (isKeyholeError(error, 'bad_request')) throw usageError(error.message)
      throw error
    }

    // Signal handlers go in before the banner: whoever waits for "listening on" may send SIGHUP or
    // SIGTERM at once, and without a handler Node would die of it instead of handling it.
    const stopped = waitForSignals(io, server, keysFile, { drainDelayMs, drainTimeoutMs }, async () => {
      closeCache()
      await opened?.close()
    })
    printBanner(io, server.url, {
      keysFile,
      kids: server.kids(),
      issuerKids: server.issuerKids(),
      trusted: trustIssuers.length,
      acceptUnsigned,
      envName,
      store: opened?.display,
      tokenHeaders,
      hostname,
      metrics: metrics ? (metricsPublic ? 'public' : 'admin') : undefined,
    })
    return stopped
  },
}

const ALL_PRIVATE = 'all'

// `--allow-private` alone means all private ranges; followed by words, each is a range
// (`--allow-private 10.0.0.0/8 fd00::/8`, as DESIGN writes it). serve takes no positionals, so
// every word up to the next flag belongs to it.
function withOptionalValue(argv: readonly string[], flag: string, fallback: string): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg !== flag) {
      out.push(arg)
      continue
    }
    let taken = 0
    while (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('-')) {
      out.push(`${flag}=${argv[++i]}`)
      taken++
    }
    if (taken === 0) out.push(`${flag}=${fallback}`)
  }
  return out
}

function parseThreads(value: string | undefined): number {
  if (value === undefined) return availableParallelism()
  const threads = Number(value)
  if (!/^\d{1,2}$/.test(value) || threads > 64)
    throw usageError('--decrypt-threads must be a number from 0 to 64')
  return threads
}

// Durations as everywhere in keyhole ('5s', '500ms', '1m', or bare seconds), in milliseconds.
function parseDuration(value: string | undefined, flag: string, fallbackMs: number): number {
  if (value === undefined) return fallbackMs
  try {
    const ms = toSeconds(value) * 1000
    // setTimeout wraps anything past ~24.8 days to 1 ms.
    if (ms <= 2 ** 31 - 1) return ms
  } catch {}
  throw usageError(`${flag} takes a duration such as 0s, 500ms, 5s or 1m`)
}

// --port wins over $PORT (what most hosting platforms set), which wins over 8787.
function parsePort(value: string | undefined, fromEnv: string | undefined): number {
  if (value === undefined && (fromEnv === undefined || fromEnv.trim() === '')) return 8787
  const text = value ?? (fromEnv as string).trim()
  const port = Number(text)
  if (!/^\d+$/.test(text) || port > 65535)
    throw usageError(`${value === undefined ? '$PORT' : '--port'} must be a number from 0 to 65535`)
  return port
}

function printBanner(
  io: CliIo,
  url: string,
  info: {
    keysFile: string
    kids: readonly string[]
    issuerKids: readonly string[]
    trusted: number
    acceptUnsigned: boolean
    envName: string | undefined
    store: string | undefined
    tokenHeaders: readonly string[]
    hostname: string
    metrics: 'public' | 'admin' | undefined
  },
): void {
  const out = (text: string) => io.stdout(`${text}\n`)
  out(`keyhole proxy listening on ${url}`)
  out(
    `  keys        ${info.keysFile} (${info.kids.length} key${info.kids.length === 1 ? '' : 's'}; current kid ${info.kids.at(-1)})`,
  )
  const own = info.issuerKids.at(-1)
  const others = info.trusted > 0 ? ` and ${info.trusted} --trust-issuer` : ''
  out(
    `  issuers     ${own ? `its own (sig ${own})${others}` : info.trusted > 0 ? `${info.trusted} --trust-issuer (the key file has no issuer key)` : 'none: the key file has no issuer key; run keyhole keygen --add'}`,
  )
  out(`  JWKS        ${url}/.well-known/jwks.json`)
  out(`  call        ${url}/https/<host>/<path> with header X-Keyhole-Token: <token>`)
  out(
    `  admin       ${info.envName ? `POST ${url}/revoke and ${url}/mint (admin token from $${info.envName})` : 'off (enable with --admin-token-env <VAR>)'}`,
  )
  out(`  revocation  ${info.store ?? 'in memory (this process only)'}`)
  if (info.metrics)
    out(
      `  metrics     ${url}/metrics (${info.metrics === 'public' ? 'public' : `admin token from $${info.envName}`})`,
    )
  if (info.tokenHeaders.length > 0) out(`  token also  in ${info.tokenHeaders.join(', ')}`)
  if (info.acceptUnsigned)
    io.stderr(
      'warning: --accept-unsigned: anyone who can read the JWKS can mint a token this proxy honours, bounded only by --allow-host\n',
    )
  if (!['127.0.0.1', 'localhost', '::1'].includes(info.hostname))
    io.stderr(
      `warning: listening on ${info.hostname}: anyone who can reach this port can use the tokens they hold through it\n`,
    )
}

function waitForSignals(
  io: CliIo,
  server: Awaited<ReturnType<typeof startServer>>,
  keysFile: string,
  drain: { drainDelayMs: number; drainTimeoutMs: number },
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
      const delay = drain.drainDelayMs > 0 ? `, after ${drain.drainDelayMs / 1000}s more of accepting` : ''
      io.stdout(
        `${new Date().toISOString()} ${signal}: finishing requests in flight, then stopping (/readyz 503${delay})\n`,
      )
      server
        .close(drain.drainTimeoutMs, drain.drainDelayMs)
        .then(cleanup)
        .finally(() => {
          process.off('SIGHUP', onHangup)
          process.off('SIGINT', onStop)
          process.off('SIGTERM', onStop)
          io.stdout(`${new Date().toISOString()} stopped\n`)
          resolveExit(EXIT_OK)
          // Everything keyhole opened is closed by now; should some library still hold a handle
          // (a reconnect timer, a socket), it must not keep a stopped proxy alive.
          setTimeout(() => process.exit(EXIT_OK), 1000).unref()
        })
    }
    process.on('SIGHUP', onHangup)
    process.on('SIGINT', onStop)
    process.on('SIGTERM', onStop)
  })
}

/** How long serve waits for a shared store's first answer before it listens anyway. */
const FIRST_STORE_WAIT_MS = 1_000

function firstOrAfter(first: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms)
  })
  return Promise.race([first, waited]).finally(() => clearTimeout(timer))
}
