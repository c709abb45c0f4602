import { randomBytes } from 'node:crypto'
import { open, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { KeyholeIssuerPrivateJwk, KeyholePrivateJwk } from '@keyhole/core'
import { CliError } from './cli-error.js'
import { readJsonFile } from './read-json-file.js'

/**
 * Reads a private key set (`{ "keys": [...] }`, as written by `keyhole keygen`). Checks only the
 * shape; the keyring validates the keys themselves. Warns through `warn` when other users can read
 * the file.
 *
 * @example
 * ```ts
 * const keys = await readKeyFile('/srv/keys.json', { shown: 'keys.json', warn: (line) => process.stderr.write(line) })
 * const keyring = createKeyring(keys)
 * ```
 */
export async function readKeyFile(
  path: string,
  options: { shown?: string; warn?: (line: string) => void } = {},
): Promise<Array<KeyholePrivateJwk | KeyholeIssuerPrivateJwk>> {
  const shown = options.shown ?? path
  const warn = options.warn
  const json = await readJsonFile(path, 'key file', `create it with \`keyhole keygen --out ${shown}\``, shown)
  const keys = (json as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys) || keys.length === 0)
    throw new CliError(`key file ${shown} must hold a key set: {"keys": [ ...private keys... ]}`)
  for (const key of keys) {
    if (typeof key !== 'object' || key === null || typeof (key as { kty?: unknown }).kty !== 'string')
      throw new CliError(`key file ${shown}: every entry in "keys" must be a JWK object`)
    if (typeof (key as { d?: unknown }).d !== 'string')
      throw new CliError(
        `key file ${shown} holds public keys only; the proxy needs the private key set written by \`keyhole keygen\``,
      )
  }
  if (warn && process.platform !== 'win32') {
    const mode = (await stat(path)).mode & 0o777
    if (mode & 0o077)
      warn(
        `warning: ${shown} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${shown}\n`,
      )
  }
  return keys as Array<KeyholePrivateJwk | KeyholeIssuerPrivateJwk>
}

/** The keys of a key file, by use: decryption keys for the keyring, issuer keys for signing. */
export interface SplitKeys {
  readonly enc: KeyholePrivateJwk[]
  readonly sig: KeyholeIssuerPrivateJwk[]
}

/**
 * Sorts a key file's keys into decryption keys and issuer (signing) keys, oldest first. An issuer
 * key says `use: "sig"` (or has a signing `alg`, or the Ed25519 curve); everything else is a
 * decryption key, so a file written before issuer keys existed reads as decryption keys only.
 *
 * @example
 * ```ts
 * const { enc, sig } = splitKeys(await readKeyFile('keys.json'))
 * ```
 */
export function splitKeys(keys: ReadonlyArray<KeyholePrivateJwk | KeyholeIssuerPrivateJwk>): SplitKeys {
  const enc: KeyholePrivateJwk[] = []
  const sig: KeyholeIssuerPrivateJwk[] = []
  for (const key of keys) {
    const { use, alg, crv } = key as { use?: unknown; alg?: unknown; crv?: unknown }
    if (use === 'sig' || alg === 'ES256' || alg === 'EdDSA' || crv === 'Ed25519')
      sig.push(key as KeyholeIssuerPrivateJwk)
    else enc.push(key as KeyholePrivateJwk)
  }
  return { enc, sig }
}

/**
 * Writes a private key set with mode 0600. Refuses to replace an existing file unless `force`;
 * a forced write goes through a temporary file and a rename, so a proxy reloading on SIGHUP
 * never reads half a file.
 *
 * @example
 * ```ts
 * await writeKeyFile('keys.json', [await generateKey()], { force: false })
 * ```
 */
export async function writeKeyFile(
  path: string,
  keys: readonly (KeyholePrivateJwk | KeyholeIssuerPrivateJwk)[],
  options: { force: boolean; shown?: string },
): Promise<void> {
  const shown = options.shown ?? path
  const text = `${JSON.stringify({ keys }, null, 2)}\n`
  if (!options.force) {
    await writeNew(path, text, shown)
    return
  }
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  await writeNew(temporary, text, shown)
  try {
    await rename(temporary, path)
  } catch (error) {
    await unlink(temporary).catch(() => {})
    throw new CliError(
      `cannot replace ${shown} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`,
    )
  }
}

async function writeNew(path: string, text: string, shown: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    // 'wx': fail if the file exists, so an existing key set is never overwritten by accident.
    handle = await open(path, 'wx', 0o600)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST')
      throw new CliError(
        `${shown} already exists; pass --force to replace it (tokens minted to its keys will stop working)`,
      )
    if (code === 'ENOENT') throw new CliError(`cannot write ${shown}: its directory does not exist`)
    if (code === 'EACCES') throw new CliError(`cannot write ${shown}: permission denied`)
    throw new CliError(`cannot write ${shown} (${code ?? 'unknown error'})`)
  }
  try {
    await handle.writeFile(text, 'utf8')
    // The umask can only remove bits; chmod makes sure the mode is exactly 0600.
    await handle.chmod(0o600)
  } finally {
    await handle.close()
  }
}
