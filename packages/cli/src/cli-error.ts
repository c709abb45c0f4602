/** Exit codes of the `keyhole` command. */
export const EXIT_OK = 0
/** The command ran and failed: a file is missing, a server refused, a token did not open. */
export const EXIT_FAILURE = 1
/** The command line itself is wrong: an unknown flag, a missing argument, a bad value. */
export const EXIT_USAGE = 2

/**
 * A failure the CLI reports to a person and exits with. Internal to the CLI: `run()` catches it and
 * turns it into a line on stderr and an exit code, so it never escapes the package's API.
 *
 * @example
 * ```ts
 * throw new CliError('no key file at keys.json: run `keyhole keygen --out keys.json` first')
 * ```
 */
export class CliError extends Error {
  override name = 'CliError'
  readonly exitCode: number

  constructor(message: string, exitCode: number = EXIT_FAILURE, options?: { cause?: unknown }) {
    super(message, options)
    this.exitCode = exitCode
  }
}

/**
 * A mistake on the command line; exits with {@link EXIT_USAGE} and points at `--help`.
 *
 * @example
 * ```ts
 * throw usageError('--host is required')
 * ```
 */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE)
}
