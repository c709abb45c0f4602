// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { usageError } from './cli-error.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** What a command accepts on its command line. */
export interface ArgSpec<O extends Options> {
  /** The command's name, used in messages (`keyhole mint: ...`). */
  readonly command: string
  readonly options: O
  /** Names of the positional arguments, in order; the last may be optional. */
  readonly positionals?: readonly string[]
  /** How many positionals are required (default: all of them). */
  readonly requiredPositionals?: number
  /**
   * Positionals may start with a dash: base64url ids such as a `jti` often do (`-4S8NO4...`).
   * An argument that starts with a dash but names no option of the command is then taken as a
   * positional instead of an unknown option.
   */
  readonly dashPositionals?: boolean
  /** What a stray positional most likely means for this command (default: an unquoted value). */
  readonly strayHint?: string
  /**
   * Options whose value is a file path (or URL): a value that is plainly the file's content
   * instead — a JSON key, a PEM block, a token — is refused without being shown, since every
   * message about a path repeats the path.
   */
  readonly paths?: readonly (keyof O & string)[]
}

/** The parsed command line, or `help` when `--help`/`-h` was given. */
export type Parsed<O extends Options> =
  | { readonly help: true }
  | {
      readonly help: false
      readonly values: ReturnType<
        typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>
      >['values']
      readonly positionals: readonly string[]
    }

const OPTION_NAME = /^--?[A-Za-z0-9][A-Za-z0-9_-]{0,30}$/

/**
 * Parses a command's arguments with `node:util` parseArgs. Errors are rewritten so that no argument
 * value is ever echoed back: a shell-split `--header Authorization: Bearer sk-...` leaves the secret as a
 * stray positional, and the message must not print it.
 *
 * @example
 * ```ts
 * const parsed = parseCommand({ command: 'jwks', options: { keys: { type: 'string' } } }, argv)
 * if (parsed.help) return printHelp()
 * ```
 */
export function parseCommand<O extends Options>(spec: ArgSpec<O>, argv: readonly string[]): Parsed<O> {
  // --help wins over everything else, so `keyhole mint --help --bogus` still shows help.
  const dashDash = argv.indexOf('--')
  const flags = dashDash === -1 ? argv : argv.slice(0, dashDash)
  if (flags.includes('--help') || flags.includes('-h')) return { help: true }

  const args = spec.dashPositionals ? moveDashPositionals(argv, spec.options) : [...argv]
  let result: { values: Record<string, unknown>; positionals: string[] }
  try {
    result = parseArgs({ args, options: spec.options, strict: true, allowPositionals: true })
  } catch (error) {
    throw usageError(describeParseError(error))
  }
  const names = spec.positionals ?? []
  const required = spec.requiredPositionals ?? names.length
  if (result.positionals.length > names.length) {
    const extra = result.positionals.length - names.length
    throw usageError(
      `${extra} unexpected argument${extra === 1 ? '' : 's'} (not shown, in case ${extra === 1 ? 'it is' : 'they are'} secret); ` +
        (spec.strayHint ??
          "quote values that contain spaces, e.g. --header 'Authorization: Bearer ${TOKEN}'"),
    )
  }
  if (result.positionals.length < required) throw usageError(`missing <${names[result.positionals.length]}>`)
  for (const option of spec.paths ?? []) {
    const given = result.values[option]
    for (const value of Array.isArray(given) ? given : [given]) {
      if (typeof value === 'string' && CONTENT.test(value)) {
        throw usageError(
          `--${option} takes a file path, and was given what looks like the file's content (not shown); write it to a file and give the path`,
        )
      }
    }
  }
  return { help: false, values: result.values as never, positionals: result.positionals }
}

// Rewrites `revoke -4S8 --url x` as `revoke --url x -- -4S8`: arguments that start with a dash but
// are neither a known option nor the value of one become positionals after `--`.
function moveDashPositionals(argv: readonly string[], options: Options): string[] {
  const flags: string[] = []
  const moved: string[] = []
  const known = (arg: string) => {
    if (arg === '-h' || arg === '--help') return true
    if (!arg.startsWith('--')) return false
    const name = arg.slice(2).split('=')[0] as string
    return Object.hasOwn(options, name)
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') {
      moved.push(...argv.slice(i + 1))
      break
    }
    if (arg.startsWith('-') && arg !== '-' && !known(arg)) {
      moved.push(arg)
      continue
    }
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined
    // An option's value is attached with `=`, so parseArgs takes it even when it starts with a dash.
    if (name !== undefined && options[name]?.type === 'string' && i + 1 < argv.length)
      flags.push(`${arg}=${argv[++i]}`)
    else flags.push(arg)
  }
  return moved.length > 0 ? [...flags, '--', ...moved] : flags
}

// A JSON document, a PEM block, a compact JWS/JWE (its header starts `{"`, base64url `eyJ`), or
// anything spanning lines: no path or URL anyone names on a command line looks like these.
const CONTENT = /^\s*[{[]|-----BEGIN |[\r\n]|^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\./

function describeParseError(error: unknown): string {
  const code = (error as { code?: string }).code
  const message = error instanceof Error ? error.message : ''
  const option = /'(--?[^' ]+)/.exec(message)?.[1]
  const name = option && OPTION_NAME.test(option) ? option : 'an option'
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      // Not echoed unless it looks like an option name: it could be a value typed in the wrong place.
      if (name === 'an option') return 'unknown option (not shown: it does not look like an option name)'
      return name.includes('_')
        ? `unknown option ${name} (options are written with dashes)`
        : `unknown option ${name}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (message.includes('does not take an argument')) return `${name} does not take a value`
      if (message.includes('ambiguous'))
        return `${name} needs a value; to pass a value that starts with a dash, write ${name}=<value>`
      return `${name} needs a value`
    default:
      return 'could not read the command line'
  }
}

/**
 * The last value of a string option that may be given once, or `undefined`.
 *
 * @example
 * ```ts
 * const out = single(values.out) ?? 'keys.json'
 * ```
 */
export function single(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.at(-1) as string | undefined
  return typeof value === 'string' ? value : undefined
}

/**
 * The values of a repeatable string option (`multiple: true`), never `undefined`.
 *
 * @example
 * ```ts
 * const hosts = many(values.host) // ['api.github.com', '*.githubusercontent.com']
 * ```
 */
export function many(value: unknown): string[] {
  if (Array.isArray(value)) return value as string[]
  return typeof value === 'string' ? [value] : []
}

/**
 * A required string option, or a usage error naming it.
 *
 * @example
 * ```ts
 * const keys = required(values.keys, '--keys', 'the private key set written by `keyhole keygen`')
 * ```
 */
export function required(value: unknown, flag: string, what: string): string {
  const found = single(value)
  if (found === undefined || found === '') throw usageError(`${flag} is required: ${what}`)
  return found
}
