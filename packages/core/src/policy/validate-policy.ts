import { KeyholeError } from '../errors.js'
import type { InjectorRegistry } from '../inject/registry.js'
import { assertValidInjections } from '../inject/validate-injections.js'
import type { Injection, Policy } from '../types.js'
import { FORBIDDEN_METHODS } from './authorize.js'
import { hasCrLfNul } from './header-rules.js'
import { parseHostPattern } from './host-pattern.js'
import { parsePathPattern } from './path-pattern.js'

/** A policy together with the credentials it injects, as carried by a token. */
export interface PolicyWithInjections extends Policy {
  readonly inject: readonly Injection[]
}

const UPPER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Z]+$/

function fail(message: string): never {
  throw new KeyholeError('invalid_grant', message)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function checkStringList(value: unknown, field: string, required: boolean): readonly string[] | undefined {
  if (value === undefined && !required) return undefined
  if (!Array.isArray(value))
    fail(`${field} must be ${required ? 'a non-empty list' : 'a non-empty list when present'}`)
  if (value.length === 0) fail(`${field} must not be empty${required ? '' : ` (omit ${field} to allow any)`}`)
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i]
    if (typeof item !== 'string') fail(`${field}[${i}] must be a string`)
    if (hasCrLfNul(item)) fail(`${field}[${i}] contains CR, LF or NUL`)
  }
  return value as string[]
}

/**
 * Validates a policy and its injections, as `mint` does before encrypting and `open` does again
 * after decrypting. Throws on the first problem; messages name the field and never contain a
 * credential value.
 *
 * - `hosts`: non-empty list of host patterns (see `parseHostPattern`).
 * - `paths`, `methods`: absent, or non-empty lists; path patterns as in `parsePathPattern`;
 *   methods are upper-case RFC 9110 tokens, never `CONNECT`, `TRACE` or `TRACK`.
 * - `inject`: non-empty list of credentials, each checked by the injector its `type` (or the
 *   older `in`) names in `injectors` (default: the built-in ones; pass
 *   `createInjectorRegistry([...plugins])` when grants use plug-ins such as `aws-sigv4`). An
 *   unknown type is refused naming the field (`inject[2].type`). No two entries may write the
 *   same header (`basic` and a `header` named `Authorization`, say) or the same query parameter,
 *   cookie or body field. No CR, LF or NUL in any string of the policy. Headers: token names, not in
 *   `FORBIDDEN_INJECT_HEADER_NAMES` / `FORBIDDEN_INJECT_HEADER_PREFIXES`, values of visible ASCII
 *   or obs-text with spaces and tabs only inside. Cookies: token names, cookie-octet values.
 *   Query: no control characters, no unpaired surrogates (the engine percent-encodes both).
 *
 * @throws KeyholeError `invalid_grant`
 * @example
 * ```ts
 * assertValidPolicy({
 *   hosts: ['api.github.com'],
 *   methods: ['GET'],
 *   inject: [{ in: 'header', name: 'Authorization', value: 'Bearer ghp_example' }],
 * })
 * ```
 */
export function assertValidPolicy(
  policy: unknown,
  injectors?: InjectorRegistry,
): asserts policy is PolicyWithInjections {
  assertPolicyShape(policy, injectors)
  for (let i = 0; i < policy.hosts.length; i++) parseAt('hosts', i, policy.hosts[i]!, parseHostPattern)
  const paths = policy.paths ?? []
  for (let i = 0; i < paths.length; i++) parseAt('paths', i, paths[i]!, parsePathPattern)
}

/**
 * Parses one pattern, reporting a bad one by position (`hosts[2] is not a valid host pattern: ...`):
 * the parsers quote the pattern they refuse, and a pattern may hold a secret pasted into the wrong
 * field, so only the reason after their quote is kept.
 */
function parseAt(
  list: 'hosts' | 'paths',
  index: number,
  pattern: string,
  parse: (p: string) => unknown,
): void {
  try {
    parse(pattern)
  } catch (error) {
    const kind = list === 'hosts' ? 'host' : 'path'
    const quoted = `invalid ${kind} pattern ${JSON.stringify(pattern.slice(0, 200))}: `
    const message = error instanceof KeyholeError ? error.message : ''
    const why = message.startsWith(quoted) ? message.slice(quoted.length) : ''
    fail(
      `${list}[${index}] is not a valid ${kind} pattern${why && !(pattern && why.includes(pattern)) ? `: ${why}` : ''}`,
    )
  }
}

/**
 * Everything {@link assertValidPolicy} checks except parsing the host and path patterns, for a
 * caller that parses them itself right after — the opener does, through `compilePolicy`, so a
 * grant's patterns are parsed once and the proxy finds them compiled. Never use it alone.
 *
 * @internal
 * @throws KeyholeError `invalid_grant`
 * @example
 * ```ts
 * assertPolicyShape(policy)
 * compilePolicy(policy) // parses hosts and paths, and throws invalid_grant on a bad one
 * ```
 */
export function assertPolicyShape(
  policy: unknown,
  injectors?: InjectorRegistry,
): asserts policy is PolicyWithInjections {
  if (!isRecord(policy)) fail('the grant must be an object')
  checkStringList(policy.hosts, 'hosts', true)
  checkStringList(policy.paths, 'paths', false)
  const methods = checkStringList(policy.methods, 'methods', false)
  if (methods !== undefined) {
    for (let i = 0; i < methods.length; i++) {
      const method = methods[i]!
      if (!UPPER_TOKEN.test(method)) fail(`methods[${i}] must be an upper-case HTTP method`)
      if (FORBIDDEN_METHODS.includes(method)) fail(`methods[${i}]: ${method} is not allowed through keyhole`)
    }
  }
  assertValidInjections(policy.inject, injectors)
}
