import { resolve } from 'node:path'
import { createOpener, isKeyholeError } from '@keyhole/core'
import { CliError, EXIT_OK, usageError } from '../cli-error.js'
import type { Command } from '../command.js'
import { loadKeyring } from '../load-keyring.js'
import { maskClaims } from '../mask.js'
import { parseCommand, single } from '../parse.js'
import { readProtectedHeader } from '../read-header.js'

const help = `Usage: keyhole inspect <token|-> [--keys keys.json]

Prints what a token says about itself. Without keys: its public header (key id, algorithms and the
hosts hint), which anyone can read. With the proxy's private key set: also its claims (jti, expiry,
subject, hosts, paths, methods, where credentials are injected), with credential values masked.
With keys the token is opened exactly as the proxy would open it, so an expired or tampered token
is reported as such. Pass - to read the token from standard input (keeps it out of argv).

Options:
  --keys <file>  the private key set written by 'keyhole keygen'
  -h, --help     show this help

Examples:
  keyhole inspect "$TOKEN"
  printf %s "$TOKEN" | keyhole inspect - --keys keys.json
`

/** `keyhole inspect`: shows a token's header and, with keys, its masked claims. */
export const inspectCommand: Command = {
  name: 'inspect',
  help,
  async run(argv, io) {
    const parsed = parseCommand(
      { command: 'inspect', options: { keys: { type: 'string' } }, positionals: ['token'] },
      argv,
    )
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const argument = parsed.positionals[0] as string
    const token = (argument === '-' ? await io.readStdin() : argument).trim()
    if (token === '') throw usageError('the token is empty')
    const header = readProtectedHeader(token)
    const keysFile = single(parsed.values.keys)
    if (keysFile === undefined) {
      io.stdout(`${JSON.stringify({ header }, null, 2)}\n`)
      return EXIT_OK
    }
    const keyring = await loadKeyring(resolve(io.cwd, keysFile), keysFile)
    const opener = createOpener({ keyring })
    try {
      const grant = await opener.open(token)
      io.stdout(`${JSON.stringify({ header, claims: maskClaims(grant) }, null, 2)}\n`)
      return EXIT_OK
    } catch (error) {
      if (!isKeyholeError(error)) throw error
      io.stdout(`${JSON.stringify({ header }, null, 2)}\n`)
      throw new CliError(`the proxy would refuse this token: ${error.message} (${error.code})`, undefined, {
        cause: error,
      })
    }
  },
}
