import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { constants, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { rootCertificates } from 'node:tls'
import { CliError, EXIT_OK, usageError } from '../cli-error.js'
import type { Command } from '../command.js'
import type { CliIo } from '../io.js'
import { many, parseCommand, required, single } from '../parse.js'

const help = `Usage: keyhole run --proxy <url> --token <token>... [--token-env <VAR>...]
                   [--ca-cert ca.pem] [--no-proxy <list>] -- <command> [args...]

Runs a command whose HTTP clients go through a keyhole proxy in forward-proxy mode, with no change
to the command: it gets
  HTTPS_PROXY, HTTP_PROXY, https_proxy, http_proxy
                 the proxy URL with user "keyhole" and the tokens (comma-separated) as password
  NO_PROXY, no_proxy
                 --no-proxy (default empty: everything goes through keyhole)
and, with --ca-cert (the proxy's CA, from 'keyhole ca cert'), so that HTTPS through the proxy is
trusted:
  NODE_EXTRA_CA_CERTS
                 the CA certificate
  SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO, DENO_CERT, AWS_CA_BUNDLE
                 a temporary bundle of the system's trusted roots plus the CA
Exits with the command's exit code. Never prints a token.

A token bound to a key (its header has "jkt") is refused: unmodified tools cannot make the proofs
of possession such a token needs; use @keyhole/client's fetch wrapper with the proof key instead.

HTTPS_PROXY is advice a program may ignore: block the sandbox's direct egress as well.

Options:
  --proxy <url>        the keyhole proxy, e.g. http://127.0.0.1:8787 (started with --ca for HTTPS)
  --token <token>      a keyhole token (repeatable: with several, the proxy picks the one whose
                       hosts name the target). Visible to other users in the process list:
                       prefer --token-env
  --token-env <VAR>    the NAME of an environment variable holding a token (repeatable)
  --ca-cert <file>     the proxy's CA certificate (PEM)
  --no-proxy <list>    hosts the command reaches directly (comma-separated, as NO_PROXY)
  -h, --help           show this help

Examples:
  keyhole ca cert --ca ca.json > ca.pem
  keyhole run --proxy http://127.0.0.1:8787 --token-env GITHUB_TOKEN --ca-cert ca.pem -- gh repo list
  keyhole run --proxy http://127.0.0.1:8787 --token "$T" --ca-cert ca.pem -- python3 agent.py
`

const PROXY_VARIABLES = ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy'] as const
const BUNDLE_VARIABLES = [
  'SSL_CERT_FILE',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'DENO_CERT',
  // Not in DESIGN's list: the AWS CLI and boto3 read it, and an inherited one (a corporate
  // bundle) would make them refuse keyhole's certificates.
  'AWS_CA_BUNDLE',
] as const
// Where common Linux distributions and macOS keep the system's trusted roots as one PEM file.
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/ssl/cert.pem',
]
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const SAFE_NAME = /^[A-Za-z0-9._/+-]{1,64}$/

/** `keyhole run`: runs a command with its proxy and CA environment pointing at keyhole. */
export const runCommand: Command = {
  name: 'run',
  help,
  async run(argv, io) {
    const dashDash = argv.indexOf('--')
    const flags = dashDash === -1 ? argv : argv.slice(0, dashDash)
    const parsed = parseCommand(
      {
        command: 'run',
        paths: ['ca-cert'],
        options: {
          proxy: { type: 'string' },
          token: { type: 'string', multiple: true },
          'token-env': { type: 'string', multiple: true },
          'ca-cert': { type: 'string' },
          'no-proxy': { type: 'string' },
        },
        strayHint:
          'put -- before the command to run, e.g. keyhole run --proxy <url> --token-env VAR -- curl https://api.github.com',
      },
      flags,
    )
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const command = dashDash === -1 ? [] : argv.slice(dashDash + 1)
    if (command.length === 0)
      throw usageError('give the command to run after --, e.g. -- curl https://api.github.com')
    const { values } = parsed
    const tokens = [...many(values.token), ...many(values['token-env']).map((name) => tokenFromEnv(name, io))]
    if (tokens.length === 0)
      throw usageError('--token (or --token-env) is required: the keyhole token(s) to use')
    tokens.forEach(checkToken)
    const proxyUrl = proxyWithTokens(required(values.proxy, '--proxy', 'the keyhole proxy URL'), tokens)

    const env: Record<string, string> = {}
    for (const [name, value] of Object.entries(io.env)) if (value !== undefined) env[name] = value
    // ALL_PROXY could send a tool elsewhere; keyhole's settings are the whole story.
    for (const name of ['ALL_PROXY', 'all_proxy']) delete env[name]
    for (const name of PROXY_VARIABLES) env[name] = proxyUrl
    const noProxy = single(values['no-proxy']) ?? ''
    env.NO_PROXY = noProxy
    env.no_proxy = noProxy

    let scratch: string | undefined
    const caFile = single(values['ca-cert'])
    try {
      if (caFile !== undefined) {
        const caPath = resolve(io.cwd, caFile)
        const caPem = await readCaCert(caPath, caFile)
        scratch = await mkdtemp(join(tmpdir(), 'keyhole-run-'))
        const bundle = join(scratch, 'ca-bundle.pem')
        await writeFile(bundle, `${(await systemRoots()).trimEnd()}\n${caPem.trimEnd()}\n`, { mode: 0o644 })
        env.NODE_EXTRA_CA_CERTS = caPath
        for (const name of BUNDLE_VARIABLES) env[name] = bundle
      }
      return await spawnCommand(command, env, io.cwd)
    } finally {
      if (scratch) await rm(scratch, { recursive: true, force: true })
    }
  },
}

function tokenFromEnv(name: string, io: CliIo): string {
  const value = io.env[name]
  if (value === undefined || value === '')
    throw usageError(`--token-env ${SAFE_NAME.test(name) ? name : '(not shown)'}: that variable is not set`)
  return value.trim()
}

// Tokens are checked through their public header only; nothing here can open them.
function checkToken(token: string, index: number): void {
  const which = `token ${index + 1}`
  if (!COMPACT_JWE.test(token)) throw usageError(`${which} is not a keyhole token (compact JWE expected)`)
  let header: { hosts?: unknown; jkt?: unknown }
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'))
  } catch {
    throw usageError(`${which} is not a keyhole token (its header is not readable)`)
  }
  if (header?.jkt !== undefined) {
    throw usageError(
      `${which} is bound to a key (jkt): unmodified tools cannot make the proofs of possession it needs; ` +
        'use an unbound token, or @keyhole/client with the proof key',
    )
  }
  if (!Array.isArray(header.hosts))
    throw usageError(`${which} has no hosts hint; the proxy could not route it`)
}

function proxyWithTokens(value: string, tokens: readonly string[]): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw usageError('--proxy must be a URL such as http://127.0.0.1:8787')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError('--proxy must be an http:// or https:// URL')
  if (url.username !== '' || url.password !== '')
    throw usageError('--proxy must not carry a user or password; give the tokens with --token')
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '')
    throw usageError('--proxy takes the proxy origin only, no path')
  // Tokens are base64url and dots; the commas between them need no escaping in userinfo.
  return `${url.protocol}//keyhole:${tokens.join(',')}@${url.host}`
}

async function readCaCert(path: string, shown: string): Promise<string> {
  let pem: string
  try {
    pem = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new CliError(
      code === 'ENOENT'
        ? `no CA certificate at ${shown}: write it with 'keyhole ca cert --ca ca.json > ${shown}'`
        : `cannot read ${shown} (${code ?? 'error'})`,
    )
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CliError(`${shown} is not a PEM certificate`)
  if (pem.includes('PRIVATE KEY')) {
    throw new CliError(`${shown} holds a private key; give the certificate only ('keyhole ca cert')`)
  }
  return pem
}

async function systemRoots(): Promise<string> {
  for (const path of SYSTEM_BUNDLES) {
    if (existsSync(path)) {
      try {
        return await readFile(path, 'utf8')
      } catch {
        // Unreadable: try the next one, then Node's own list.
      }
    }
  }
  return rootCertificates.join('\n')
}

// Runs the command with the terminal attached and resolves to its exit code (128 + the signal
// number when a signal ended it, as shells report it). Signals sent to keyhole go to the command.
function spawnCommand(command: readonly string[], env: Record<string, string>, cwd: string): Promise<number> {
  const [file, ...args] = command as [string, ...string[]]
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { env, cwd, stdio: 'inherit' })
    const forward = (signal: NodeJS.Signals) => child.kill(signal)
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
    for (const signal of signals) process.on(signal, forward)
    const cleanup = () => {
      for (const signal of signals) process.off(signal, forward)
    }
    child.once('error', (error: NodeJS.ErrnoException) => {
      cleanup()
      const name = SAFE_NAME.test(file) ? file : '(not shown)'
      reject(
        new CliError(
          error.code === 'ENOENT'
            ? `command not found: ${name}`
            : `cannot run ${name} (${error.code ?? 'error'})`,
          error.code === 'ENOENT' ? 127 : 126,
        ),
      )
    })
    child.once('exit', (code, signal) => {
      cleanup()
      if (code !== null) resolvePromise(code)
      else resolvePromise(128 + (signal ? (constants.signals[signal] ?? 0) : 0))
    })
  })
}
