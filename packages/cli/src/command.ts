import type { CliIo } from './io.js'

/** One `keyhole` subcommand. */
export interface Command {
  readonly name: string
  /** The full text `keyhole <name> --help` prints. */
  readonly help: string
  /** Runs the command; resolves to the process exit code. Throws `CliError` for failures. */
  run(argv: readonly string[], io: CliIo): Promise<number>
}
