import { basicInjector } from './basic.js'
import { bodyInjector } from './body.js'
import { cookieInjector } from './cookie.js'
import { headerInjector } from './header.js'
import { hmacInjector } from './hmac.js'
import type { InjectEntry, Injector } from './injector.js'
import { oauth2Injector } from './oauth2.js'
import { queryInjector } from './query.js'

/** Injectors by the `type` their entries name. */
export type InjectorRegistry = ReadonlyMap<string, Injector<InjectEntry>>

function freezeMap(injectors: readonly Injector<InjectEntry>[]): InjectorRegistry {
  const map = new Map<string, Injector<InjectEntry>>()
  for (const injector of injectors) {
    if (typeof injector?.type !== 'string' || injector.type.length === 0)
      throw new TypeError('an injector needs a non-empty type')
    if (map.has(injector.type))
      throw new TypeError(`two injectors for the credential type '${injector.type}'`)
    map.set(injector.type, injector)
  }
  // A ReadonlyMap is only read-only to the type checker; a registry is shared by every request,
  // so nobody may add a type to it behind the proxy's back.
  const frozen = Object.freeze({
    get: (type: string) => map.get(type),
    has: (type: string) => map.has(type),
    get size() {
      return map.size
    },
    forEach: (callback: (value: Injector<InjectEntry>, key: string, m: InjectorRegistry) => void) =>
      map.forEach((value, key) => {
        callback(value, key, frozen)
      }),
    entries: () => map.entries(),
    keys: () => map.keys(),
    values: () => map.values(),
    [Symbol.iterator]: () => map[Symbol.iterator](),
  }) as InjectorRegistry
  return frozen
}

/**
 * The injectors core ships: `header`, `query`, `cookie`, `basic`, `body`, `hmac` and `oauth2`
 * (whose token cache lives as long as the process; make your own with `createOAuth2Injector`
 * and {@link createInjectorRegistry} to control it).
 *
 * @example
 * ```ts
 * builtinInjectors.get('basic')?.secrets({ type: 'basic', username: 'u', password: 'p' })
 * // ['Basic dTpw', 'dTpw', 'p']
 * ```
 */
export const builtinInjectors: InjectorRegistry = freezeMap([
  headerInjector,
  queryInjector,
  cookieInjector,
  basicInjector,
  bodyInjector,
  hmacInjector,
  oauth2Injector,
] as readonly Injector<InjectEntry>[])

/**
 * The built-in injectors plus plug-ins. A plug-in may replace a built-in of the same type (an
 * `oauth2` injector with its own cache, say); two plug-ins of one type are a `TypeError`.
 *
 * @example
 * ```ts
 * import { awsSigV4Injector } from '@keyhole/aws'
 * const injectors = createInjectorRegistry([awsSigV4Injector])
 * assertValidPolicy(policy, injectors)
 * ```
 */
export function createInjectorRegistry(extra: readonly Injector<never>[] = []): InjectorRegistry {
  const plugins = freezeMap(extra as unknown as readonly Injector<InjectEntry>[])
  const all = [...builtinInjectors.values()].filter((injector) => !plugins.has(injector.type))
  return freezeMap([...all, ...plugins.values()])
}
