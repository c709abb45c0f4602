import { resolve } from 'node:path'
import { toPublicJwk } from '@keyhole/core'
import { CliError, EXIT_OK } from '../cli-error.js'
import type { Command } from '../command.js'
import { loadKeys } from '../load-keyring.js'
import { parseCommand, required } from '../parse.js'

const help = `Usage: keyhole jwks --keys keys.json [--issuer]

Prints the public encryption JWKS of a private key set: what minters encrypt tokens to, so only
your proxy can open them. Anyone may hold it. Publish it, or pass it to 'keyhole mint --jwks'.

With --issuer, prints the public keys of the key set's issuer keys instead: what another proxy
trusts with --trust-issuer, so it honours the tokens this key set signs.

Options:
  --keys <file>  the private key set written by 'keyhole keygen'
  --issuer       print the issuer's public keys instead
  -h, --help     show this help

Examples:
  keyhole jwks --keys keys.json > jwks.json
  keyhole jwks --keys keys.json --issuer > issuer.json
`

/** `keyhole jwks`: prints the public half of a key set. */
export const jwksCommand: Command = {
  name: 'jwks',
  help,
  async run(argv, io) {
    const parsed = parseCommand(
      {
        command: 'jwks',
        options: { keys: { type: 'string' }, issuer: { type: 'boolean' } },
        paths: ['keys'],
      },
      argv,
    )
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const file = required(parsed.values.keys, '--keys', "the private key set written by 'keyhole keygen'")
    const { keyring, issuers } = await loadKeys(resolve(io.cwd, file), file, (line) => io.stderr(line))
    if (parsed.values.issuer) {
      if (issuers.length === 0)
        throw new CliError(`${file} holds no issuer key; add one with \`keyhole keygen --add --out ${file}\``)
      io.stdout(`${JSON.stringify({ keys: issuers.map((key) => toPublicJwk(key)) }, null, 2)}\n`)
      return EXIT_OK
    }
    io.stdout(`${JSON.stringify(keyring.publicJwks(), null, 2)}\n`)
    return EXIT_OK
  },
}
