import { resolve } from 'node:path'
import {
  createInjectorRegistry,
  type Injection,
  isKeyholeError,
  type KeyholeIssuerPrivateJwk,
  mint,
  type PublicJwks,
} from '@keyhole/core'
import { CliError, EXIT_OK, EXIT_USAGE, usageError } from '../cli-error.js'
import type { Command } from '../command.js'
import { expandEnv } from '../expand-env.js'
import { basicInjection, checkInjectEntry, injectEntry, nameFlags } from '../inject-options.js'
import { jwksTarget } from '../jwks-target.js'
import { splitKeys } from '../key-file.js'
import { loadKeys } from '../load-keyring.js'
import { jwksProblem } from '../network-reason.js'
import { many, parseCommand, required, single } from '../parse.js'
import { loadPluginInjectors, PLUGIN_TYPES } from '../plugin-injectors.js'
import { readBindKey } from '../read-bind-key.js'
import { readJsonFile } from '../read-json-file.js'

const help = `Usage: keyhole mint (--keys keys.json | --jwks <file|url> --issuer-key <file>)
                    --host <pattern>... --ttl <duration>
                    [--path <pattern>...] [--method <M>...]
                    [--header 'Name: value'...] [--query name=value...] [--cookie name=value...]
                    [--basic 'user:pass'] [--inject '<json>'...]
                    [--sub <subject>] [--aud <audience>] [--bind-key <jwk file>]

Prints a keyhole token: the credential and the policy for using it, signed with an issuer key and
encrypted to the proxy's public key. Only the proxy can open it, it honours it only if it trusts
the issuer, and it only works towards the hosts it names.

With --keys (the proxy's own key set) the token is encrypted to the newest decryption key and
signed with the newest issuer key of that file. With --jwks, it is encrypted to that JWKS and
signed with --issuer-key; without --issuer-key it is unsigned, and only a proxy started with
--accept-unsigned takes it.

\${VAR} inside a --header/--query/--cookie/--basic value, and inside the string values of an
--inject entry, is expanded by keyhole from its own environment.
Single-quote the value so the shell does not expand it: then the secret never appears in argv or
in your shell history. Write $\${ for a literal \${.

Options:
  --keys <file>       the private key set written by 'keyhole keygen' (encrypts and signs)
  --jwks <file|url>   the proxy's public JWKS: a file ('keyhole jwks' output) or an http(s) URL
                      such as http://127.0.0.1:8787/.well-known/jwks.json
  --issuer-key <file> the issuer key that signs, with --jwks: a key set ('keyhole keygen' output;
                      its newest issuer key) or a file holding one private JWK. Never the key
                      itself on the command line
  --host <pattern>    a host the token may be used towards (repeatable): api.example.com,
                      *.example.com (subdomains only), api.example.com:8443,
                      http://localhost:3000 (plain HTTP must be allowed explicitly)
  --path <pattern>    a path it may be used on (repeatable; default any): /v1/messages,
                      /repos/acme/* (one segment), /repos/acme/** (any depth)
  --method <M>        an HTTP method it may be used with (repeatable; default any)
  --header 'N: v'     inject header N with value v into every forwarded request (repeatable)
  --query n=v         inject query parameter n=v (repeatable)
  --cookie n=v        inject cookie n=v (repeatable)
  --basic 'user:pass' send Authorization: Basic base64(user:pass); split at the first colon
  --inject '<json>'   one credential of any kind, as a JSON object (repeatable); \${VAR} is
                      expanded in its string values, never in its keys. Kinds and fields:
                        {"type":"header","name":"X-Api-Key","value":"..."}   (also query, cookie)
                        {"type":"basic","username":"...","password":"..."}
                        {"type":"body","field":"/auth/api_key","value":"..."}  JSON pointer
                        {"type":"hmac","name":"X-Signature","key":"...",
                         "algorithm":"sha256|sha512","encoding":"hex|base64","prefix":"sha256="}
                        {"type":"oauth2","tokenUrl":"https://...","clientId":"...",
                         "clientSecret":"...","scope":"...","audience":"...","refreshToken":"...",
                         "auth":"client_secret_basic|client_secret_post"}
                        {"type":"aws-sigv4","accessKeyId":"...","secretAccessKey":"...",
                         "sessionToken":"...","region":"us-east-1","service":"s3"}
  --ttl <duration>    lifetime: 90 (seconds), 30s, 15m, 1h; at most 24h (the proxy's default
                      maximum lifetime)
  --sub <subject>     who or what the token is for (shown in the proxy's log)
  --aud <audience>    the audience, for proxies that require one
  --bind-key <file>   bind the token to a key: a file holding ONE PUBLIC JWK (P-256 or Ed25519),
                      the public half of the holder's proof key. Every request must then carry a
                      Keyhole-Proof signed by that key, so a copy of the token alone is useless.
                      A private key (with "d") is refused
  -h, --help          show this help

Examples:
  export GITHUB_TOKEN=ghp_...
  keyhole mint --keys keys.json --host api.github.com \\
    --method GET --header 'Authorization: Bearer \${GITHUB_TOKEN}' --ttl 1h --sub ci-job-42
  keyhole mint --jwks https://proxy.example.com/.well-known/jwks.json --issuer-key issuer.json \\
    --host api.openai.com --path '/v1/**' --header 'Authorization: Bearer \${OPENAI_API_KEY}' --ttl 15m
  keyhole mint --keys keys.json --host my-bucket.s3.eu-west-1.amazonaws.com --ttl 1h \\
    --inject '{"type":"aws-sigv4","accessKeyId":"\${AWS_ACCESS_KEY_ID}",
               "secretAccessKey":"\${AWS_SECRET_ACCESS_KEY}","region":"eu-west-1","service":"s3"}'
`

/** `keyhole mint`: prints a token carrying a credential and its policy. */
export const mintCommand: Command = {
  name: 'mint',
  help,
  async run(argv, io) {
    const parsed = parseCommand(
      {
        command: 'mint',
        paths: ['jwks', 'keys', 'issuer-key', 'bind-key'],
        options: {
          jwks: { type: 'string' },
          keys: { type: 'string' },
          'issuer-key': { type: 'string' },
          host: { type: 'string', multiple: true },
          path: { type: 'string', multiple: true },
          method: { type: 'string', multiple: true },
          header: { type: 'string', multiple: true },
          query: { type: 'string', multiple: true },
          cookie: { type: 'string', multiple: true },
          basic: { type: 'string' },
          inject: { type: 'string', multiple: true },
          ttl: { type: 'string' },
          sub: { type: 'string' },
          aud: { type: 'string' },
          'bind-key': { type: 'string' },
        },
      },
      argv,
    )
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const { values } = parsed
    const keysFile = single(values.keys)
    const jwksSource = single(values.jwks)
    const issuerKeyFile = single(values['issuer-key'])
    if ((keysFile === undefined) === (jwksSource === undefined))
      throw usageError(
        "give either --keys keys.json (the proxy's key set) or --jwks <file|url> with --issuer-key <file>",
      )
    if (keysFile !== undefined && issuerKeyFile !== undefined)
      throw usageError('--issuer-key goes with --jwks; --keys signs with the key set’s own issuer key')
    const hosts = many(values.host)
    if (hosts.length === 0) throw usageError('--host is required: a host the token may be used towards')
    const ttl = required(values.ttl, '--ttl', 'how long the token lives, e.g. 1h')
    const paths = many(values.path)
    const methods = many(values.method).map((method) => method.toUpperCase())
    // Each entry with the flag that made it, so core's `inject[3]` can be told back as `--basic`.
    const flagged: ReadonlyArray<readonly [label: string, entry: Injection]> = [
      ...many(values.header).map(
        (spec, i) => [`--header #${i + 1}`, headerInjection(spec, i, io.env)] as const,
      ),
      ...many(values.query).map(
        (spec, i) => [`--query #${i + 1}`, pairInjection('query', spec, i, io.env)] as const,
      ),
      ...many(values.cookie).map(
        (spec, i) => [`--cookie #${i + 1}`, pairInjection('cookie', spec, i, io.env)] as const,
      ),
      ...many(values.basic).map((spec) => ['--basic', basicInjection(spec, io.env)] as const),
      ...many(values.inject).map((json, i) => [`--inject #${i + 1}`, injectEntry(json, i, io.env)] as const),
    ]
    if (flagged.length === 0)
      throw usageError(
        'give the credential the token carries: --header, --query, --cookie, --basic or --inject (at least one)',
      )
    const inject = flagged.map(([, entry]) => entry)
    const labels = flagged.map(([label]) => label)
    // The SigV4 signer is loaded only for a grant that uses it.
    const injectors = inject.some((entry) => PLUGIN_TYPES.includes(entry.type as string))
      ? createInjectorRegistry(await loadPluginInjectors())
      : undefined
    const first = labels.findIndex((label) => label.startsWith('--inject'))
    if (first !== -1)
      inject.slice(first).forEach((entry, i) => {
        checkInjectEntry(entry, i, injectors ?? createInjectorRegistry())
      })

    let to: string | PublicJwks
    let signWith: KeyholeIssuerPrivateJwk | undefined
    if (keysFile !== undefined) {
      const { keyring, issuers } = await loadKeys(resolve(io.cwd, keysFile), keysFile, (line) =>
        io.stderr(line),
      )
      signWith = issuers.at(-1)
      if (signWith === undefined)
        throw new CliError(
          `${keysFile} holds no issuer key to sign with (it was written before issuer keys existed); run \`keyhole keygen --add --out ${keysFile}\``,
        )
      to = keyring.publicJwks()
    } else {
      to = await jwksTarget(jwksSource as string, io.cwd, 'mint')
      if (issuerKeyFile !== undefined) signWith = await readIssuerKey(issuerKeyFile, io.cwd)
      else
        io.stderr(
          'warning: no --issuer-key: this token is unsigned, and only a proxy started with --accept-unsigned will take it\n',
        )
    }
    const sub = single(values.sub)
    const aud = single(values.aud)
    const bindKeyFile = single(values['bind-key'])
    const bindKey = bindKeyFile === undefined ? undefined : (await readBindKey(bindKeyFile, io.cwd)).jwk
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
          ...(bindKey !== undefined ? { bindKey } : {}),
        },
        { to, ...(signWith !== undefined && { signWith }), ...(injectors && { injectors }) },
      )
    } catch (error) {
      // Core names only the JWKS URL's origin: its path or query may carry an access token.
      if (isKeyholeError(error, 'jwks_unavailable')) {
        throw new CliError(jwksProblem(error), undefined, { cause: error })
      }
      if (isKeyholeError(error, 'invalid_grant') || isKeyholeError(error, 'bad_request'))
        throw new CliError(ttlFlag(nameFlags(error.message, labels)), EXIT_USAGE, { cause: error })
      throw error
    }
    io.stdout(`${token}\n`)
    return EXIT_OK
  },
}

// Core speaks of the `ttl` and `maxTtl` options; the person at the terminal typed --ttl.
function ttlFlag(message: string): string {
  return message
    .replace(/^ttl and maxTtl are durations/, '--ttl is a duration')
    .replace(/^ttl must be at most (\d+) seconds \(maxTtl\)/, '--ttl must be at most $1 seconds (24h)')
    .replace(/^ttl must/, '--ttl must')
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
  return { type: 'header', name, value }
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
  return { type: where, name, value }
}

// A name typed in the value's place could itself be a secret; only show names that look like names.
function safeName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : '(name not shown)'
}

/** The issuer key of `--issuer-key`: a key set's newest issuer key, or a file holding one private JWK. */
async function readIssuerKey(file: string, cwd: string): Promise<KeyholeIssuerPrivateJwk> {
  const json = await readJsonFile(
    resolve(cwd, file),
    'issuer key file',
    'pass the key set written by `keyhole keygen`, or a file holding one private issuer JWK',
  )
  const keys = (json as { keys?: unknown } | null)?.keys
  const candidates = Array.isArray(keys) ? keys : [json]
  const valid = candidates.filter(
    (key): key is KeyholeIssuerPrivateJwk =>
      typeof key === 'object' && key !== null && typeof (key as { kty?: unknown }).kty === 'string',
  )
  const { sig } = splitKeys(valid)
  const key = sig.at(-1)
  if (key === undefined)
    throw new CliError(
      `${file} holds no issuer key (use "sig"); add one with \`keyhole keygen --add --out ${file}\``,
    )
  if (typeof (key as { d?: unknown }).d !== 'string')
    throw new CliError(`${file} holds only the public half of the issuer key; signing needs the private key`)
  return key
}
