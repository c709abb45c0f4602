import { resolve } from 'node:path'
import { bindingThumbprint, isKeyholeError } from '@keyhole/core'
import { CliError, EXIT_USAGE } from './cli-error.js'
import { readJsonFile } from './read-json-file.js'

/** JWK members that only a private (or secret) key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/** The public key of `--bind-key`, and the thumbprint (`cnf.jkt`) a token bound to it carries. */
export interface BindKey {
  readonly jwk: JsonWebKey
  readonly jkt: string
}

/**
 * Reads `--bind-key <file>`: a file holding ONE public JWK (P-256 or Ed25519), the public half of
 * the proof key the token's holder signs `Keyhole-Proof`s with. A private key is refused: the
 * private half stays with the holder, and a command that was handed it should not carry it on.
 * Messages name the file and never show the key.
 *
 * @example
 * ```ts
 * const { jwk, jkt } = await readBindKey('agent-key.pub.json', io.cwd)
 * await mint({ ...grant, bindKey: jwk }, { to, signWith })
 * ```
 */
export async function readBindKey(file: string, cwd: string): Promise<BindKey> {
  const json = await readJsonFile(
    resolve(cwd, file),
    'bind key file',
    'write the public JWK of the holder’s proof key there (its "publicJwk", without "d")',
    file,
  )
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CliError(`bind key file ${file} must hold one public JWK object`, EXIT_USAGE)
  const jwk = json as Record<string, unknown>
  if (Array.isArray(jwk.keys))
    throw new CliError(
      `bind key file ${file} holds a key set; --bind-key takes a file holding one public JWK`,
      EXIT_USAGE,
    )
  if (PRIVATE_MEMBERS.some((member) => member in jwk))
    throw new CliError(
      `bind key file ${file} holds a PRIVATE key; --bind-key takes only the public half (the JWK without "d"): the private key stays with whoever signs the proofs`,
      EXIT_USAGE,
    )
  try {
    return { jwk: jwk as JsonWebKey, jkt: await bindingThumbprint(jwk) }
  } catch (error) {
    // Core's message never quotes the key; it says what kind of key is expected.
    if (isKeyholeError(error))
      throw new CliError(`bind key file ${file}: ${error.message}`, EXIT_USAGE, { cause: error })
    throw error
  }
}
