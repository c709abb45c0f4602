import { attenuate, DEFAULT_MAX_TOKEN_BYTES, isKeyholeError, type Restriction } from '@keyhole/core'
import { CliError, EXIT_OK, EXIT_USAGE, usageError } from '../cli-error.js'
import type { Command } from '../command.js'
import { jwksTarget } from '../jwks-target.js'
import { jwksProblem } from '../network-reason.js'
import { many, parseCommand, required, single } from '../parse.js'
import { readBindKey } from '../read-bind-key.js'

const help = `Usage: keyhole attenuate <token|-> --jwks <file|url>
                         [--host <pattern>...] [--path <pattern>...] [--method <M>...]
                         [--ttl <duration>] [--sub <subject>] [--bind-key <jwk file>]

Prints a narrower token made from the one you hold, offline, with only the proxy's public JWKS:
hand it to a sub-agent or a single job. The new token wraps the old one, encrypted, so it never
reveals it; the proxy honours a request only if it satisfies every layer, so a layer can only take
away: fewer hosts, paths or methods, a shorter life, a key binding. The credentials, and who
signed them, stay those of the token you started from. Pass - to read the token from standard
input (keeps it out of argv and shell history).

Options:
  --jwks <file|url>   the proxy's public JWKS: a file ('keyhole jwks' output) or an http(s) URL
                      such as http://127.0.0.1:8787/.well-known/jwks.json
  --host <pattern>    a host the narrow token may be used towards (repeatable); each must lie
                      inside the token's own hosts. Default: the token's hosts
  --path <pattern>    a path it may be used on (repeatable; default: what the token allows):
                      /v1/messages, /repos/acme/* (one segment), /repos/acme/** (any depth)
  --method <M>        an HTTP method it may be used with (repeatable; default: what the token allows)
  --ttl <duration>    lifetime: 90 (seconds), 30s, 15m, 1h; default 15m. The token's own expiry
                      still wins if it comes first
  --sub <subject>     who or what the narrow token is for (shown in the proxy's log)
  --bind-key <file>   bind the narrow token to a key: a file holding ONE PUBLIC JWK (P-256 or
                      Ed25519). Every request must then carry a Keyhole-Proof signed by it.
                      A private key (with "d") is refused, and so is a key other than the one a
                      bound token is already bound to
  -h, --help          show this help

Examples:
  keyhole attenuate "$TOKEN" --jwks jwks.json --path '/repos/acme/app/**' --method GET --ttl 5m
  printf %s "$TOKEN" | keyhole attenuate - --jwks https://proxy.example.com/.well-known/jwks.json \\
    --host api.github.com --sub sub-agent-3 --bind-key agent.pub.json
`

/** `keyhole attenuate`: prints a narrower token wrapping the one given. */
export const attenuateCommand: Command = {
  name: 'attenuate',
  help,
  async run(argv, io) {
    const parsed = parseCommand(
      {
        command: 'attenuate',
        paths: ['jwks', 'bind-key'],
        options: {
          jwks: { type: 'string' },
          host: { type: 'string', multiple: true },
          path: { type: 'string', multiple: true },
          method: { type: 'string', multiple: true },
          ttl: { type: 'string' },
          sub: { type: 'string' },
          'bind-key': { type: 'string' },
        },
        positionals: ['token'],
      },
      argv,
    )
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const { values } = parsed
    const argument = parsed.positionals[0] as string
    const token = (argument === '-' ? await io.readStdin() : argument).trim()
    if (token === '') throw usageError('the token is empty')
    const jwksSource = required(
      values.jwks,
      '--jwks',
      "the proxy's public JWKS (a file or URL) that the narrow token is encrypted to",
    )
    const hosts = many(values.host)
    const paths = many(values.path)
    const methods = many(values.method).map((method) => method.toUpperCase())
    const ttl = single(values.ttl)
    const sub = single(values.sub)
    const bindKeyFile = single(values['bind-key'])
    const bindKey = bindKeyFile === undefined ? undefined : (await readBindKey(bindKeyFile, io.cwd)).jwk
    const restriction: Restriction = {
      ...(hosts.length > 0 && { hosts }),
      ...(paths.length > 0 && { paths }),
      ...(methods.length > 0 && { methods }),
      ...(ttl !== undefined && { ttl }),
      ...(sub !== undefined && { sub }),
      ...(bindKey !== undefined && { bindKey }),
    }
    const to = await jwksTarget(jwksSource, io.cwd, 'attenuate')

    let narrow: string
    try {
      narrow = await attenuate(token, restriction, { to })
    } catch (error) {
      // Core's messages name the field at fault (hosts[1]) and never quote the value or the token.
      if (isKeyholeError(error, 'jwks_unavailable')) {
        throw new CliError(jwksProblem(error), undefined, { cause: error })
      }
      if (isKeyholeError(error, 'invalid_grant'))
        throw new CliError(`${flagNames(error.message)}`, EXIT_USAGE, { cause: error })
      if (isKeyholeError(error, 'bad_request'))
        throw new CliError(
          `${error.message}; pass the token exactly as 'keyhole mint' or 'keyhole attenuate' printed it`,
          EXIT_USAGE,
          { cause: error },
        )
      throw error
    }
    io.stdout(`${narrow}\n`)
    // Each layer wraps the whole inner token (about 1.4 times longer per layer): say so before a
    // proxy refuses it with nothing but invalid_token.
    if (narrow.length > DEFAULT_MAX_TOKEN_BYTES)
      io.stderr(
        `warning: the narrowed token is ${narrow.length} bytes; a proxy refuses tokens over ${DEFAULT_MAX_TOKEN_BYTES} bytes unless its maxTokenBytes is raised (fewer layers or a smaller grant keep it under)\n`,
      )
    return EXIT_OK
  },
}

// Core speaks of restriction fields; the person at the terminal typed flags.
function flagNames(message: string): string {
  return message
    .replace(/\bhosts\[(\d+)\]/g, (_, i: string) => `--host #${Number(i) + 1}`)
    .replace(/\bpaths\[(\d+)\]/g, (_, i: string) => `--path #${Number(i) + 1}`)
    .replace(/\bmethods\[(\d+)\]/g, (_, i: string) => `--method #${Number(i) + 1}`)
    .replace(/^ttl and maxTtl are durations/, '--ttl is a duration')
    .replace(/^ttl must/, '--ttl must')
    .replace(/^"sub" must/, '--sub must')
}
