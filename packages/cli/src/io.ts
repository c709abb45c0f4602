/** Where a command reads and writes; the process by default, something else in tests or embedders. */
export interface CliIo {
  /** Writes to standard output (the command's result: a kid, a JWKS, a token). */
  stdout(text: string): void
  /** Writes to standard error (messages for the person at the terminal, and errors). */
  stderr(text: string): void
  /** The environment `${VAR}` references and `--admin-token-env` read from. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Reads all of standard input (for `keyhole inspect -`). */
  readStdin(): Promise<string>
  /** The directory relative paths are resolved against. */
  readonly cwd: string
}

/**
 * The {@link CliIo} of the running process.
 *
 * @example
 * ```ts
 * const code = await run(['jwks', '--keys', 'keys.json'], processIo())
 * ```
 */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    async readStdin() {
      const chunks: Buffer[] = []
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks).toString('utf8')
    },
  }
}
