import { resolve } from 'node:path'
import { EXIT_OK } from '../cli-error.js'
import type { Command } from '../command.js'
import { loadKeyring } from '../load-keyring.js'
import { parseCommand, required } from '../parse.js'

const help = `Usage: keyhole jwks --keys keys.json

Prints the public JWKS of a private key set. Anyone may hold it: it lets them mint tokens that
only your proxy can open. Publish it, or pass it to 'keyhole mint --jwks'.

Options:
  --keys <file>  the private key set written by 'keyhole keygen'
  -h, --help     show this help

Example:
  keyhole jwks --keys keys.json > jwks.json
`

/** `keyhole jwks`: prints the public half of a key set. */
export const jwksCommand: Command = {
  name: 'jwks',
  help,
  async run(argv, io) {
    const parsed = parseCommand({ command: 'jwks', options: { keys: { type: 'string' } } }, argv)
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const file = required(parsed.values.keys, '--keys', "the private key set written by 'keyhole keygen'")
    const keyring = await loadKeyring(resolve(io.cwd, file), file, (line) => io.stderr(line))
    io.stdout(`${JSON.stringify(keyring.publicJwks(), null, 2)}\n`)
    return EXIT_OK
  },
}
