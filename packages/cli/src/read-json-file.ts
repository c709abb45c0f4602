import { readFile } from 'node:fs/promises'
import { CliError } from './cli-error.js'

/**
 * Reads and parses a JSON file with errors a person can act on. The parser's own message is never
 * shown: recent V8 versions quote the text around the error, and a key file holds private keys.
 *
 * @example
 * ```ts
 * const jwks = await readJsonFile('/etc/keyhole/jwks.json', 'the JWKS file', 'run `keyhole jwks --keys keys.json > jwks.json`')
 * ```
 */
export async function readJsonFile(
  path: string,
  what: string,
  howToCreate: string,
  shown: string = path,
): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new CliError(`${what} ${shown} does not exist; ${howToCreate}`)
    if (code === 'EACCES') throw new CliError(`cannot read ${what} ${shown}: permission denied`)
    if (code === 'EISDIR') throw new CliError(`${what} ${shown} is a directory, not a file`)
    throw new CliError(`cannot read ${what} ${shown} (${code ?? 'unknown error'})`)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message)?.[1]
    const at = position === undefined ? '' : ` (at ${lineAndColumn(text, Number(position))})`
    throw new CliError(`${what} ${shown} is not valid JSON${at}`)
  }
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n')
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`
}
