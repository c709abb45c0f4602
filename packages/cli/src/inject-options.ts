// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands
import { assertValidInjections, type Injection, type InjectorRegistry, isKeyholeError } from '@keyhole/core'
import { usageError } from './cli-error.js'
import { expandEnv } from './expand-env.js'

type Env = Readonly<Record<string, string | undefined>>

/**
 * `--basic 'user:pass'` as a `basic` entry. Split at the first colon before expanding, so a
 * password (or a variable holding one) may itself contain colons; each half is expanded on its own.
 *
 * @example
 * ```ts
 * basicInjection('bot:${BOT_PASSWORD}', { BOT_PASSWORD: 'pw' }) // { type: 'basic', username: 'bot', password: 'pw' }
 * ```
 */
export function basicInjection(spec: string, env: Env): Injection {
  const colon = spec.indexOf(':')
  // The spec is never quoted back: a value without a colon may be a bare password.
  if (colon <= 0)
    throw usageError(
      "--basic must look like 'username:password', e.g. 'bot:${BOT_PASSWORD}' (the username may not be empty)",
    )
  return {
    type: 'basic',
    username: expandEnv(spec.slice(0, colon), env, '--basic username'),
    password: expandEnv(spec.slice(colon + 1), env, '--basic password'),
  }
}

/**
 * One `--inject '<json>'`: a JSON object that is one entry of the grant's `inject` list.
 * `${VAR}` is expanded inside string values only (at any depth), never in keys, and only after
 * parsing, so a secret holding quotes or backslashes cannot change the JSON's shape. Errors name
 * the flag and its position (`--inject #2`), never the text: it may hold a secret.
 *
 * @example
 * ```ts
 * injectEntry('{"type":"hmac","name":"X-Sig","key":"${HOOK_KEY}"}', 0, process.env)
 * ```
 */
export function injectEntry(json: string, index: number, env: Env): Injection {
  const where = `--inject #${index + 1}`
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    // JSON.parse's own message quotes the input; it is not passed on.
    throw usageError(
      `${where} is not valid JSON; give one entry such as '{"type":"basic","username":"bot","password":"\${BOT_PASSWORD}"}'`,
    )
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw usageError(`${where} must be one JSON object { "type": ..., ... } (repeat --inject for more)`)
  return expandStrings(parsed, env, where) as Injection
}

function expandStrings(value: unknown, env: Env, where: string): unknown {
  if (typeof value === 'string') return expandEnv(value, env, where)
  if (Array.isArray(value)) return value.map((item, i) => expandStrings(item, env, `${where}[${i}]`))
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        expandStrings(item, env, `${where} ${fieldName(key)}`),
      ]),
    )
  return value
}

/**
 * Checks one `--inject` entry on its own, so a mistake is reported against the flag that made it
 * (`--inject #2: password must be a non-empty string`): its type must be one `registry` knows,
 * its fields valid for that type, and it may carry no field the type does not take (core would
 * drop it silently, and a misspelt optional field such as `scopes` would then go unnoticed).
 */
export function checkInjectEntry(entry: Injection, index: number, registry: InjectorRegistry): void {
  const where = `--inject #${index + 1}`
  try {
    assertValidInjections([entry], registry)
  } catch (error) {
    if (!isKeyholeError(error, 'invalid_grant')) throw error
    throw usageError(
      `${where}: ${error.message.replace(/^inject\[0\]\.?/, '').replace(/inject\[0\]\.?/g, '') || 'invalid entry'}`,
    )
  }
  const type = (entry.type ?? entry.in) as string
  const fields = new Set(['type', 'in', ...((registry.get(type)?.fields ?? []) as string[])])
  for (const key of Object.keys(entry))
    if (!fields.has(key))
      throw usageError(
        `${where}: a ${type} entry takes no field ${fieldName(key)}; its fields are ${[...fields].filter((f) => f !== 'in').join(', ')}`,
      )
}

// A key typed in the value's place could itself be a secret; only show keys that look like names.
function fieldName(key: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(key) ? key : '(field not shown)'
}

/**
 * Rewrites core's positions (`inject[3].password`) into the flags the user typed
 * (`--basic password`), given the flag that produced each entry of the list, in order.
 *
 * @example
 * ```ts
 * nameFlags('inject[1] injects the same header as inject[0]', ['--header #1', '--basic'])
 * // '--basic injects the same header as --header #1'
 * ```
 */
export function nameFlags(message: string, labels: readonly string[]): string {
  return message.replace(/inject\[(\d+)\](\.)?/g, (match, index: string, dot: string | undefined) => {
    const label = labels[Number(index)]
    if (label === undefined) return match
    return dot ? `${label} ` : label
  })
}
