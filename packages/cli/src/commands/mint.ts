import { resolve } from 'node:path'
import { type Injection, isKeyholeError, mint, type PublicJwks } from '@keyhole/core'
import { CliError, EXIT_OK, EXIT_USAGE, usageError } from '../cli-error.js'
import type { Command } from '../command.js'
import { expandEnv } from '../expand-env.js'
import { networkReason } from '../network-reason.js'
import { many, parseCommand, required, single } from '../parse.js'
import { readJsonFile } from '../read-json-file.js'

const help = `Usage: keyhole mint --jwks <file|url> --host <pattern>... --ttl <duration>
                    [--path <pattern>...] [--method <M>...]
                    [--header 'Name: value'...] [--query name=value...] [--cookie name=value...]
                    [--sub <subject>] [--aud <audience>]

Prints a keyhole token: the credential and the policy for using it, encrypted to the proxy's
public key. Only the proxy can open it, and it only works towards the hosts it names.

\${VAR} inside a --header/--query/--cookie value is expanded by keyhole from its own environment.
Single-quote the value so the shell does not expand it: then the secret never appears in argv or
in your shell history. Write $\${ for a literal \${.

Options:
  --jwks <file|url>   the proxy's public JWKS: a file ('keyhole jwks' output) or an http(s) URL
                      such as http://127.0.0.1:8787/.well-known/jwks.json
  --host <pattern>    a host the token may be used towards (repeatable): api.example.com,
                      *.example.com (subdomains only), api.example.com:8443,
                      http://localhost:3000 (plain HTTP must be allowed explicitly)
  --path <pattern>    a path it may be used on (repeatable; default any): /v1/messages,
                      /repos/acme/* (one segment), /repos/acme/** (any depth)
  --method <M>        an HTTP method it may be used with (repeatable; default any)
  --header 'N: v'     inject header N with value v into every forwarded request (repeatable)
  --query n=v         inject query parameter n=v (repeatable)
  --cookie n=v        inject cookie n=v (repeatable)
  --ttl <duration>    lifetime: 90 (seconds), 30s, 15m, 1h, 7d
  --sub <subject>     who or what the token is for (shown in the proxy's log)
  --aud <audience>    the audience, for proxies that require one
  -h, --help          show this help

Example:
  export GITHUB_TOKEN=ghp_...
  keyhole mint --jwks http://127.0.0.1:8787/.well-known/jwks.json --host api.github.com \\
    --method GET --header 'Authorization: Bearer \${GITHUB_TOKEN}' --ttl 1h --sub ci-job-42
`

/** `keyhole mint`: prints a token carrying a credential and its policy. */
export const mintCommand: Command = {
  name: 'mint',
  help,
  async run(argv, io) {
    const parsed = parseCommand(
      {
        command: 'mint',
        options: {
          jwks: { type: 'string' },
          host: { type: 'string', multiple: true },
          path: { type: 'string', multiple: true },
          method: { type: 'string', multiple: true },
          header: { type: 'string', multiple: true },
          query: { type: 'string', multiple: true },
          cookie: { type: 'string', multiple: true },
          ttl: { type: 'string' },
          sub: { type: 'string' },
          aud: { type: 'string' },
        },
      },
      argv,
    )
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const { values } = parsed
    const jwksSource = required(values.jwks, '--jwks', "the proxy's public JWKS (a file or a URL)")
    const hosts = many(values.host)
    if (hosts.length === 0) throw usageError('--host is required: a host the token may be used towards')
    const ttl = required(values.ttl, '--ttl', 'how long the token lives, e.g. 1h')
    const paths = many(values.path)
    const methods = many(values.method).map((method) => method.toUpperCase())
    const inject: Injection[] = [
      ...many(values.header).map((spec, i) => headerInjection(spec, i, io.env)),
      ...many(values.query).map((spec, i) => pairInjection('query', spec, i, io.env)),
      ...many(values.cookie).map((spec, i) => pairInjection('cookie', spec, i, io.env)),
    ]
    if (inject.length === 0)
      throw usageError('give the credential the token carries: --header, --query or --cookie (at least one)')

    const to = await jwksTarget(jwksSource, io.cwd)
    const sub = single(values.sub)
    const aud = single(values.aud)
    let token: string
    try {
      token = await mint(
        {
          hosts,
          ...(paths.length > 0 ? { paths } : {}),
          ...(methods.length > 0 ? { methods } : {}),
          inject,
          ttl,
          ...(sub !== undefined ? { sub } : {}),
          ...(aud !== undefined ? { aud } : {}),
        },
        { to },
      )
    } catch (error) {
      // Core names only the JWKS URL's origin: its path or query may carry an access token.
      if (isKeyholeError(error, 'jwks_unavailable')) {
        const reason = networkReason(error)
        throw new CliError(`${error.message}${reason ? ` (${reason})` : ''}`, undefined, { cause: error })
      }
      if (isKeyholeError(error, 'invalid_grant') || isKeyholeError(error, 'bad_request'))
        throw new CliError(error.message, EXIT_USAGE, { cause: error })
      throw error
    }
    io.stdout(`${token}\n`)
    return EXIT_OK
  },
}

function headerInjection(
  spec: string,
  index: number,
  env: Readonly<Record<string, string | undefined>>,
): Injection {
  const colon = spec.indexOf(':')
  const name = colon === -1 ? '' : spec.slice(0, colon).trim()
  if (colon === -1 || name === '')
    throw usageError(
      `--header #${index + 1} must look like 'Name: value', e.g. 'Authorization: Bearer \${API_KEY}'`,
    )
  const value = expandEnv(spec.slice(colon + 1).trim(), env, `--header ${safeName(name)}`)
  return { in: 'header', name, value }
}

function pairInjection(
  where: 'query' | 'cookie',
  spec: string,
  index: number,
  env: Readonly<Record<string, string | undefined>>,
): Injection {
  const equals = spec.indexOf('=')
  const name = equals === -1 ? '' : spec.slice(0, equals)
  if (equals === -1 || name === '')
    throw usageError(`--${where} #${index + 1} must look like name=value, e.g. api_key='\${API_KEY}'`)
  const value = expandEnv(spec.slice(equals + 1), env, `--${where} ${safeName(name)}`)
  return { in: where, name, value }
}

// A name typed in the value's place could itself be a secret; only show names that look like names.
function safeName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : '(name not shown)'
}

async function jwksTarget(source: string, cwd: string): Promise<string | PublicJwks> {
  if (/^https?:\/\//i.test(source)) return source
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) throw usageError('--jwks must be a file or an http(s) URL')
  const json = await readJsonFile(
    resolve(cwd, source),
    'JWKS file',
    'write one with `keyhole jwks --keys keys.json > jwks.json`, or pass the proxy URL',
  )
  const keys = (json as { keys?: unknown } | null)?.keys
  if (Array.isArray(keys)) {
    if (keys.some((key) => typeof key === 'object' && key !== null && 'd' in key))
      throw new CliError(
        `${source} holds private keys; mint needs only the public JWKS: keyhole jwks --keys ${source} > jwks.json`,
      )
    return json as PublicJwks
  }
  throw new CliError(`JWKS file ${source} must hold a key set: {"keys": [ ...public keys... ]}`)
}
