import { resolve } from 'node:path'
import { generateKey, type KeyCurve } from '@keyhole/core'
import { EXIT_OK, usageError } from '../cli-error.js'
import type { Command } from '../command.js'
import { readKeyFile, writeKeyFile } from '../key-file.js'
import { parseCommand, single } from '../parse.js'

const CURVES: readonly KeyCurve[] = ['P-256', 'X25519']

const help = `Usage: keyhole keygen [--curve P-256|X25519] [--out keys.json] [--force | --add]

Generates a private key for the proxy and writes it as a key set ({"keys": [...]}) with mode 0600.
Prints the new key's id (kid) on stdout. Give the proxy the key set (keyhole serve --keys keys.json)
and give minters only the public JWKS (keyhole jwks --keys keys.json).

Options:
  --curve <curve>  P-256 (default; works with any JOSE library) or X25519 (faster)
  --out <file>     where to write the key set (default: keys.json)
  --force          replace an existing file (tokens minted to its keys stop working)
  --add            add the new key to an existing key set instead (key rotation: the new key
                   mints, the old ones still open their tokens; send SIGHUP to a running proxy)
  -h, --help       show this help

Examples:
  keyhole keygen --out keys.json
  keyhole keygen --curve X25519 --out keys.json --add
`

/** `keyhole keygen`: writes a new private key set. */
export const keygenCommand: Command = {
  name: 'keygen',
  help,
  async run(argv, io) {
    const parsed = parseCommand(
      {
        command: 'keygen',
        options: {
          curve: { type: 'string' },
          out: { type: 'string' },
          force: { type: 'boolean' },
          add: { type: 'boolean' },
        },
      },
      argv,
    )
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const { values } = parsed
    const curve = single(values.curve) ?? 'P-256'
    if (!CURVES.includes(curve as KeyCurve)) throw usageError(`--curve must be P-256 or X25519`)
    if (values.force && values.add) throw usageError('--force and --add cannot be used together')
    const out = single(values.out) ?? 'keys.json'
    const path = resolve(io.cwd, out)

    const key = await generateKey({ curve: curve as KeyCurve })
    if (values.add) {
      const existing = await readKeyFile(path, { shown: out })
      await writeKeyFile(path, [...existing, key], { force: true, shown: out })
      io.stderr(`added ${curve} key to ${out} (${existing.length + 1} keys; the new one mints)\n`)
    } else {
      await writeKeyFile(path, [key], { force: values.force === true, shown: out })
      io.stderr(`wrote ${curve} private key set to ${out} (mode 0600); keep it secret\n`)
    }
    io.stdout(`${key.kid}\n`)
    return EXIT_OK
  },
}
