import { isKeyholeError } from '@keyhole/core'
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './cli-error.js'
import type { Command } from './command.js'
import { type CliIo, processIo } from './io.js'
import { VERSION } from './version.js'

interface Entry {
  readonly name: string
  readonly summary: string
  // Commands load on demand: `keyhole mint` should not pay for parsing Redis, Postgres and Hono.
  readonly load: () => Promise<Command>
}

const COMMANDS: readonly Entry[] = [
  {
    name: 'keygen',
    summary: 'generate a private key set for the proxy (mode 0600); prints its kids (enc and sig)',
    load: async () => (await import('./commands/keygen.js')).keygenCommand,
  },
  {
    name: 'jwks',
    summary: 'print the public JWKS of a key set',
    load: async () => (await import('./commands/jwks.js')).jwksCommand,
  },
  {
    name: 'mint',
    summary: 'mint a token that carries a credential, locked to hosts, paths and methods',
    load: async () => (await import('./commands/mint.js')).mintCommand,
  },
  {
    name: 'attenuate',
    summary: 'make a narrower token from one you hold (fewer hosts, paths, methods; shorter; key-bound)',
    load: async () => (await import('./commands/attenuate.js')).attenuateCommand,
  },
  {
    name: 'inspect',
    summary: "show a token's public header and, with --keys, its claims with credentials masked",
    load: async () => (await import('./commands/inspect.js')).inspectCommand,
  },
  {
    name: 'revoke',
    summary: 'revoke a token by its jti, through a proxy (--url) or a shared store (--store-env)',
    load: async () => (await import('./commands/revoke.js')).revokeCommand,
  },
  {
    name: 'serve',
    summary: 'run the standalone proxy (open mode at /, JWKS, health, admin routes); SIGHUP reloads keys',
    load: async () => (await import('./commands/serve.js')).serveCommand,
  },
  {
    name: 'ca',
    summary: 'create the forward-proxy certificate authority (ca init), print its certificate (ca cert)',
    load: async () => (await import('./commands/ca.js')).caCommand,
  },
  {
    name: 'run',
    summary: 'run a command with HTTPS_PROXY/HTTP_PROXY and its CA trust pointing at a keyhole proxy',
    load: async () => (await import('./commands/run.js')).runCommand,
  },
]

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length))
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`)
  return `keyhole ${VERSION}: host-locked, encrypted credential tokens for untrusted code.

Usage: keyhole <command> [options]

Commands:
${lines.join('\n')}

Run 'keyhole <command> --help' for a command's options.

Exit codes: 0 success, 1 the command failed, 2 the command line is wrong.
`
}

/**
 * Runs the `keyhole` command line and resolves to the exit code. Never throws: failures are
 * written to `io.stderr` as one line a person can act on, and never contain a credential value.
 *
 * @example
 * ```ts
 * import { run } from '@keyhole/cli'
 * process.exitCode = await run(['keygen', '--out', 'keys.json'])
 * ```
 */
export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined) {
    io.stderr(mainHelp())
    return EXIT_USAGE
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = rest[0] === undefined ? undefined : COMMANDS.find((command) => command.name === rest[0])
    io.stdout(topic ? (await topic.load()).help : mainHelp())
    return EXIT_OK
  }
  if (name === '--version' || name === '-v') {
    io.stdout(`${VERSION}\n`)
    return EXIT_OK
  }
  const entry = COMMANDS.find((candidate) => candidate.name === name)
  if (!entry) {
    const shown = /^[A-Za-z0-9-]{1,32}$/.test(name) ? `'${name}'` : '(not shown)'
    io.stderr(`keyhole: unknown command ${shown}. Commands: ${COMMANDS.map((c) => c.name).join(', ')}.\n`)
    io.stderr(`Run 'keyhole --help' for usage.\n`)
    return EXIT_USAGE
  }
  try {
    return await (await entry.load()).run(rest, io)
  } catch (error) {
    return report(entry.name, error, io)
  }
}

function report(command: string, error: unknown, io: CliIo): number {
  if (error instanceof CliError) {
    io.stderr(`keyhole ${command}: ${error.message}\n`)
    if (error.exitCode === EXIT_USAGE) io.stderr(`Run 'keyhole ${command} --help' for usage.\n`)
    return error.exitCode
  }
  // KeyholeError messages are written for people and never carry a secret (a core guarantee).
  if (isKeyholeError(error)) {
    io.stderr(`keyhole ${command}: ${error.message} (${error.code})\n`)
    return error.code === 'invalid_grant' || error.code === 'bad_request' ? EXIT_USAGE : EXIT_FAILURE
  }
  // Anything else is a bug in keyhole; its message could be anything, so show only its type.
  const kind = error instanceof Error ? error.name : typeof error
  io.stderr(`keyhole ${command}: unexpected ${kind}; set KEYHOLE_DEBUG=1 to see the stack trace\n`)
  if (io.env.KEYHOLE_DEBUG === '1' && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`)
  return EXIT_FAILURE
}
