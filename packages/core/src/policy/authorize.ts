import { KeyholeError } from '../errors.js'
import type { LayerPolicy, Policy } from '../types.js'
import { isToken } from './header-rules.js'
import { type HostRule, matchHost, parseHostPattern } from './host-pattern.js'
import { methodOverrideInQuery } from './method-override.js'
import { matchPath, normalizeTargetPath, type PathRule, parsePathPattern } from './path-pattern.js'
import { parseTarget, type Target } from './target.js'

/** A policy with its patterns parsed once. */
export interface CompiledPolicy {
  readonly hosts: readonly HostRule[]
  readonly paths: readonly PathRule[] | undefined
  readonly methods: ReadonlySet<string> | undefined
}

/** Methods fetch refuses to send and a credential proxy has no business with. */
export const FORBIDDEN_METHODS: readonly string[] = Object.freeze(['CONNECT', 'TRACE', 'TRACK'])
const forbiddenMethods = new Set(FORBIDDEN_METHODS)
// The methods fetch upper-cases whatever case they are written in; others are sent verbatim.
const FETCH_NORMALIZED = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])

interface CompiledEntry {
  readonly paths: unknown
  readonly methods: unknown
  readonly result: CompiledPolicy
}

// Keyed by the policy's `hosts` array and checked against its `paths` and `methods` arrays, not
// by the policy object: grants the opener builds from one validated policy share those frozen
// arrays (see validate-claims.ts), so every fresh token with the same policy finds it parsed.
const compiled = new WeakMap<object, CompiledEntry>()

/**
 * Parses a policy's patterns, once per set of pattern arrays: the result is cached in a `WeakMap`
 * keyed by the `hosts` array (and checked against the `paths` and `methods` arrays), so treat
 * those arrays as immutable once the policy has been used (grants from `open()` are frozen).
 * Does not check `inject`; use `assertValidPolicy` for a full check.
 *
 * @throws KeyholeError `invalid_grant` for a malformed pattern
 * @example
 * ```ts
 * const { hosts } = compilePolicy({ hosts: ['*.example.com'] })
 * ```
 */
export function compilePolicy(policy: Policy): CompiledPolicy {
  const source = policy.hosts
  if (typeof source === 'object' && source !== null) {
    const entry = compiled.get(source)
    if (entry !== undefined && entry.paths === policy.paths && entry.methods === policy.methods)
      return entry.result
  }
  if (!Array.isArray(policy.hosts) || policy.hosts.length === 0) {
    throw new KeyholeError('invalid_grant', 'hosts must be a non-empty list of host patterns')
  }
  const hosts = policy.hosts.map(parseHostPattern)
  let paths: PathRule[] | undefined
  if (policy.paths !== undefined) {
    if (!Array.isArray(policy.paths) || policy.paths.length === 0) {
      throw new KeyholeError(
        'invalid_grant',
        'paths must be a non-empty list of path patterns (omit it to allow any path)',
      )
    }
    paths = policy.paths.map(parsePathPattern)
  }
  let methods: Set<string> | undefined
  if (policy.methods !== undefined) {
    if (!Array.isArray(policy.methods) || policy.methods.length === 0) {
      throw new KeyholeError(
        'invalid_grant',
        'methods must be a non-empty list (omit it to allow any method)',
      )
    }
    methods = new Set(policy.methods)
  }
  const result: CompiledPolicy = { hosts, paths, methods }
  compiled.set(source, { paths: policy.paths, methods: policy.methods, result })
  return result
}

interface CompiledLayer {
  readonly hosts: readonly HostRule[] | undefined
  readonly paths: readonly PathRule[] | undefined
  readonly methods: ReadonlySet<string> | undefined
}

const compiledLayers = new WeakMap<object, CompiledLayer>()

function compileLayer(layer: LayerPolicy): CompiledLayer {
  let result = compiledLayers.get(layer)
  if (result === undefined) {
    result = {
      hosts: layer.hosts?.map(parseHostPattern),
      paths: layer.paths?.map(parsePathPattern),
      methods: layer.methods && new Set(layer.methods),
    }
    compiledLayers.set(layer, result)
  }
  return result
}

/**
 * The restrictions of an attenuated token's outer layers: the request must satisfy each of them
 * as well as the grant itself, so a layer naming something wider than what it wraps gains nothing.
 */
function authorizeLayers(layers: readonly LayerPolicy[], target: Target, method: string): void {
  for (const layer of layers) {
    const rules = compileLayer(layer)
    if (rules.hosts !== undefined && !rules.hosts.some((rule) => matchHost(rule, target))) {
      throw new KeyholeError(
        'host_not_allowed',
        'the target scheme, host or port is not allowed by this token',
      )
    }
    if (rules.paths !== undefined) {
      const path = normalizeTargetPath(target.path)
      if (path === undefined || !rules.paths.some((rule) => matchPath(rule, path))) {
        throw new KeyholeError('path_not_allowed', 'the target path is not allowed by this token')
      }
    }
    if (rules.methods !== undefined) {
      if (!rules.methods.has(method)) {
        throw new KeyholeError('method_not_allowed', 'the request method is not allowed by this token')
      }
      assertOverridesAllowed(rules.methods, target.search)
    }
  }
}

/**
 * A `_method` query parameter makes many frameworks treat the request as the method it names,
 * so under a method restriction each one must name an allowed method too.
 */
function assertOverridesAllowed(methods: ReadonlySet<string>, search: string): void {
  if (search === '') return
  for (const override of methodOverrideInQuery(search)) {
    if (!methods.has(override)) {
      throw new KeyholeError(
        'method_not_allowed',
        'a _method parameter names a method this token does not allow',
      )
    }
  }
}

function normalizeMethod(method: string): string | undefined {
  if (typeof method !== 'string' || !isToken(method)) return undefined
  if (FETCH_NORMALIZED.has(method)) return method
  const upper = method.toUpperCase()
  return FETCH_NORMALIZED.has(upper) ? upper : method
}

/**
 * Checks a request against a grant's policy and returns the parsed target the request must be
 * sent to. Runs on every proxied request: patterns are compiled once per policy object and the
 * common path allocates nothing beyond the target.
 *
 * - Host: scheme, host and port are all locked (`api.x.com` is https on 443 only,
 *   `api.x.com:8443` https on 8443, `http://api.x.com` http on 80 only); matched on the
 *   normalized target ({@link parseTarget}).
 * - Path: when the policy has `paths`, the target path must match one of them after RFC 3986
 *   normalization, and paths that, decoded repeatedly, hold dot-segments, encoded slashes,
 *   backslashes, `?`, `#` or control characters, and invalid escapes, are refused (see
 *   `normalizeTargetPath`).
 * - Method: exact, case-sensitive, except the six methods fetch itself upper-cases (`get` is
 *   `GET`, but `patch` is not `PATCH`). `CONNECT`, `TRACE` and `TRACK` are always refused. When
 *   the policy has `methods`, every `_method` query parameter (value trimmed and upper-cased)
 *   must name one of them as well: `POST /x?_method=DELETE` under `['POST']` is refused. (Body
 *   fields are the engine's to check, with `methodOverrideInBody`.)
 *
 * @throws KeyholeError `bad_target`, `host_not_allowed`, `path_not_allowed`, `method_not_allowed`
 * @example
 * ```ts
 * const target = authorize(grant, { method: 'GET', url: 'https://api.github.com/user' })
 * await fetch(target.href, { headers })
 * ```
 */
export function authorize(
  policy: Policy,
  request: { readonly method: string; readonly url: string | URL },
): Target {
  const rules = compilePolicy(policy)
  const target = parseTarget(request.url)
  let hostAllowed = false
  for (const rule of rules.hosts) {
    if (matchHost(rule, target)) {
      hostAllowed = true
      break
    }
  }
  if (!hostAllowed) {
    throw new KeyholeError('host_not_allowed', 'the target scheme, host or port is not allowed by this token')
  }
  if (rules.paths !== undefined) {
    const path = normalizeTargetPath(target.path)
    let pathAllowed = false
    if (path !== undefined) {
      for (const rule of rules.paths) {
        if (matchPath(rule, path)) {
          pathAllowed = true
          break
        }
      }
    }
    if (!pathAllowed) {
      throw new KeyholeError(
        'path_not_allowed',
        path === undefined
          ? 'the target path has dot-segments, encoded slashes, backslashes, ?, # or control characters (at any depth of encoding), or invalid escapes'
          : 'the target path is not allowed by this token',
      )
    }
  }
  const method = normalizeMethod(request.method)
  if (
    method === undefined ||
    forbiddenMethods.has(method) ||
    (rules.methods !== undefined && !rules.methods.has(method))
  ) {
    throw new KeyholeError('method_not_allowed', 'the request method is not allowed by this token')
  }
  if (rules.methods !== undefined) assertOverridesAllowed(rules.methods, target.search)
  const layers = (policy as { readonly layers?: readonly LayerPolicy[] }).layers
  if (layers !== undefined) authorizeLayers(layers, target, method)
  return target
}
