import { resolve } from 'node:path'
import { generateKey, type KeyCurve } from '@keyhole/core'
import { EXIT_OK, usageError } from '../cli-error.js'
import type { Command } from '../command.js'
import { readKeyFile, splitKeys, writeKeyFile } from '../key-file.js'
import { parseCommand, single } from '../parse.js'

const CURVES: readonly KeyCurve[] = ['P-256', 'X25519']

const help = `Usage: keyhole keygen [--curve P-256|X25519] [--out keys.json] [--force | --add]

Generates a key pair for the proxy and writes it as a private key set ({"keys": [...]}, mode 0600):
a decryption key (use "enc": tokens are encrypted to it) and an issuer key (use "sig": it signs the
tokens 'keyhole mint --keys' makes; the proxy honours only tokens an issuer it trusts signed).
Prints "enc <kid>" and "sig <kid>" on stdout. Give the proxy the key set (keyhole serve --keys
keys.json); give other minters the public JWKS (keyhole jwks --keys keys.json), and other proxies
the issuer's public keys (keyhole jwks --keys keys.json --issuer, for their --trust-issuer).

Options:
  --curve <curve>  P-256 (default; works with any JOSE library; the issuer key is ES256) or
                   X25519 (faster; the issuer key is EdDSA, Ed25519)
  --out <file>     where to write the key set (default: keys.json)
  --force          replace an existing file (tokens minted to its keys stop working)
  --add            add the new pair to an existing key set instead (key rotation: the new keys
                   mint and sign, the old ones still open and vouch for their tokens; send
                   SIGHUP to a running proxy). Also brings a file from before issuer keys up to date
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
        paths: ['out'],
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
    const issuer = await generateKey({ use: 'sig', alg: curve === 'X25519' ? 'EdDSA' : 'ES256' })
    if (values.add) {
      const existing = await readKeyFile(path, { shown: out })
      const { enc, sig } = splitKeys(existing)
      // Decryption keys first, then issuer keys, each oldest first: the new ones are the newest.
      await writeKeyFile(path, [...enc, key, ...sig, issuer], { force: true, shown: out })
      io.stderr(
        `added a ${curve} key pair to ${out} (${enc.length + 1} decryption and ${sig.length + 1} issuer keys; the new ones mint and sign)\n`,
      )
    } else {
      await writeKeyFile(path, [key, issuer], { force: values.force === true, shown: out })
      io.stderr(`wrote ${curve} private key set to ${out} (mode 0600); keep it secret\n`)
    }
    io.stdout(`enc ${key.kid}\nsig ${issuer.kid}\n`)
    return EXIT_OK
  },
}
