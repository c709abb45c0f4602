import { randomBytes } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { createCertificateAuthority, loadCertificateAuthority } from '@keyhole/core/node'
import { CliError, EXIT_OK, usageError } from '../cli-error.js'
import type { Command } from '../command.js'
import { parseCommand, required, single } from '../parse.js'

const help = `Usage: keyhole ca init [--out ca.json] [--force]
       keyhole ca cert --ca ca.json

The certificate authority of the forward-proxy mode. With it, 'keyhole serve --ca ca.json' answers
CONNECT (what HTTPS_PROXY clients send): it checks the token against the host before any TLS, then
terminates TLS with a certificate for that host issued by this CA (per host, valid at most 24 h)
and runs every request through the proxy like any other. Clients must trust the CA's certificate
('keyhole run --ca-cert' sets that up for a command).

Subcommands:
  init   create a new P-256 CA and write it, private key included, as JSON (mode 0600)
  cert   print the CA certificate (PEM) for clients to trust

Options:
  --out <file>   where 'init' writes the CA (default: ca.json)
  --force        let 'init' replace an existing file (clients must then trust the new certificate)
  --ca <file>    the CA file 'cert' reads
  -h, --help     show this help

Keep ca.json secret: whoever holds it can impersonate any host to the clients that trust it.
Trust its certificate only in the sandboxes whose traffic goes through this proxy.

Examples:
  keyhole ca init --out ca.json
  keyhole ca cert --ca ca.json > ca.pem
  keyhole serve --keys keys.json --ca ca.json
`

/** `keyhole ca`: creates the forward-proxy CA, or prints its certificate. */
export const caCommand: Command = {
  name: 'ca',
  help,
  async run(argv, io) {
    const parsed = parseCommand(
      {
        command: 'ca',
        paths: ['out', 'ca'],
        options: { out: { type: 'string' }, force: { type: 'boolean' }, ca: { type: 'string' } },
        positionals: ['subcommand'],
        requiredPositionals: 0,
      },
      argv,
    )
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const { values, positionals } = parsed
    const subcommand = positionals[0]
    // Each subcommand has its own flags: one meant for the other would be silently ignored.
    const foreign =
      subcommand === 'init' && values.ca !== undefined
        ? '--ca'
        : subcommand === 'cert' && (values.out !== undefined || values.force !== undefined)
          ? values.out !== undefined
            ? '--out'
            : '--force'
          : undefined
    if (foreign !== undefined)
      throw usageError(
        `${foreign} does not go with 'ca ${subcommand}' (ca init [--out ca.json] [--force]; ca cert --ca ca.json)`,
      )
    if (subcommand === 'init') {
      const out = single(values.out) ?? 'ca.json'
      const ca = await createCertificateAuthority()
      await writePrivate(
        resolve(io.cwd, out),
        `${JSON.stringify(ca.toJSON(), null, 2)}\n`,
        out,
        values.force === true,
      )
      io.stderr(`wrote a P-256 certificate authority to ${out} (mode 0600); keep it secret\n`)
      io.stderr(`clients trust its certificate: keyhole ca cert --ca ${out} > ca.pem\n`)
      return EXIT_OK
    }
    if (subcommand === 'cert') {
      const file = required(values.ca, '--ca', "the CA file written by 'keyhole ca init'")
      io.stdout((await readCertificateAuthority(resolve(io.cwd, file), file)).certificate)
      return EXIT_OK
    }
    throw usageError(
      subcommand === undefined ? 'missing <subcommand>: init or cert' : 'the subcommand is init or cert',
    )
  },
}

/**
 * Reads and checks a CA file written by `keyhole ca init`.
 *
 * @example
 * ```ts
 * const ca = await readCertificateAuthority('/etc/keyhole/ca.json', 'ca.json')
 * ```
 */
export async function readCertificateAuthority(path: string, shown: string) {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new CliError(
      code === 'ENOENT'
        ? `no CA file at ${shown}: create one with 'keyhole ca init --out ${shown}'`
        : `cannot read ${shown} (${code ?? 'error'})`,
    )
  }
  try {
    return await loadCertificateAuthority(text)
  } catch (error) {
    // KeyholeError messages never carry key material.
    throw new CliError(`${shown} is not a keyhole CA: ${(error as Error).message}`)
  }
}

// Written with mode 0600 from the start (never readable by others, even for a moment), and
// never over an existing file unless asked: replacing a CA breaks every client that trusts it.
async function writePrivate(path: string, text: string, shown: string, force: boolean): Promise<void> {
  const target = force
    ? join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
    : path
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(target, 'wx', 0o600)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new CliError(`${shown} already exists; use --force to replace it`)
    throw new CliError(`cannot write ${shown} (${code ?? 'error'})`)
  }
  try {
    await handle.writeFile(text)
  } finally {
    await handle.close()
  }
  if (!force) return
  try {
    await rename(target, path)
  } catch (error) {
    await unlink(target).catch(() => {})
    throw new CliError(`cannot replace ${shown} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}
