import { importJWK } from 'jose'
import { toSeconds } from '../duration.js'
import { KeyholeError } from '../errors.js'
import { type FetchJwksOptions, fetchJwks } from '../fetch-jwks.js'
import { bareIssuerJwk, isIssuerJwk, publicIssuerJwk, verifiedIssuerKid } from '../keys/issuer-jwk.js'
import { type HostRule, parseHostPattern } from '../policy/host-pattern.js'
import type { IssuerAlg, KeyholeIssuerPublicJwk } from '../types.js'

/**
 * Where an issuer's public keys come from: one JWK, a list of JWKs, a JWK set, anything with `publicJwks()`
 * (a keyring-like object), or the URL of a JWKS (HTTPS unless on loopback; fetched, cached, and
 * fetched again for an unknown `kid` at most once per 30 s, and in the background once the
 * opener's `issuerJwks.cacheTtl` has passed, so a key the issuer removed stops being trusted).
 * Keys that are not issuer keys (a decryption key in the same set) are ignored.
 */
export type IssuerKeys =
  | KeyholeIssuerPublicJwk
  | readonly KeyholeIssuerPublicJwk[]
  | { readonly keys: readonly unknown[] }
  | { publicJwks(): { readonly keys: readonly unknown[] } }
  | string
  | URL

/** One trusted issuer: its keys and, optionally, the host patterns it may grant. */
export interface TrustedIssuer {
  readonly keys: IssuerKeys
  /**
   * The scope: every host pattern of a grant this issuer signs must lie inside one of these
   * (scheme and port locked, `*.example.com` covers any name below it). Absent: any host.
   */
  readonly hosts?: readonly string[]
}

/** An entry of `createOpener({ issuers })`: a {@link TrustedIssuer}, or just its keys. */
export type IssuerOption = TrustedIssuer | IssuerKeys

/** One verification key of a trusted issuer. */
export interface IssuerKey {
  readonly kid: string
  readonly alg: IssuerAlg
  /** The public JWK, for a custom verifier (`nodeVerify` makes a node:crypto KeyObject of it). */
  readonly jwk: KeyholeIssuerPublicJwk
  readonly key: CryptoKey
  /** Parsed scope; undefined when the issuer may grant any host. */
  readonly scope?: readonly HostRule[]
}

/** The trusted issuer keys of an opener. */
export interface IssuerSet {
  /** The key with this thumbprint, if a trusted issuer has it (loaded). */
  get(kid: string): IssuerKey | undefined
  /** Loads static keys (once) and, for an unknown kid, refetches URL sources (rate-limited). */
  find(kid: string): Promise<IssuerKey | undefined>
  /** True when no issuer is configured at all. */
  readonly empty: boolean
}

/** How long an issuer JWKS URL is left alone after a fetch for an unknown `kid`. */
export const ISSUER_REFETCH_MS = 30_000

interface Source {
  readonly keys: IssuerKeys
  readonly scope?: readonly HostRule[]
  /** For URL sources: when it was last fetched (ms), and what it held then. */
  fetchedAt: number
  /** A fetch in flight, which concurrent lookups of an unknown kid wait for instead of skipping. */
  pending?: Promise<void>
  loaded: Map<string, IssuerKey>
}

// What a JWK may hold (RFC 7517 §4, RFC 7518 §6): anything else beside them is a typo or a
// misplaced option, such as `{ ...jwk, hosts }` meant as a scope.
const JWK_MEMBERS = new Set([
  'kty',
  'use',
  'key_ops',
  'alg',
  'kid',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'crv',
  'x',
  'y',
  'd',
  'n',
  'e',
  'p',
  'q',
  'dp',
  'dq',
  'qi',
  'oth',
  'k',
  'ext',
])
const ISSUER_MEMBERS = new Set(['keys', 'hosts'])

/**
 * Refuses an issuer entry that cannot mean what it seems to: an unknown member (a misspelt
 * `host: [...]` would otherwise trust the issuer for every host, the opposite of a scope), a URL
 * that is not http(s), or static keys among which there is no issuer (signature) key at all
 * (the proxy's own encryption JWKS given by mistake), which would trust nothing in silence.
 */
function checkEntry(entry: IssuerOption, i: number): void {
  const where = `issuers[${i}]`
  if (typeof entry === 'string' || entry instanceof URL) {
    const url = entry instanceof URL ? entry : URL.canParse(entry) ? new URL(entry) : undefined
    if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:'))
      throw new KeyholeError(
        'bad_request',
        `${where} must be an issuer key, a JWK set or an https:// JWKS URL`,
      )
    return
  }
  if (typeof entry !== 'object' || entry === null)
    throw new KeyholeError(
      'bad_request',
      `${where} must be an issuer key, a JWK set, { keys, hosts } or a JWKS URL`,
    )
  if (Array.isArray(entry) || typeof (entry as { publicJwks?: unknown }).publicJwks === 'function') return
  const members = Object.keys(entry)
  const allowed = 'keys' in entry ? ISSUER_MEMBERS : JWK_MEMBERS
  const unknown = members.find((name) => !allowed.has(name))
  if (unknown !== undefined) {
    const hint = 'keys' in entry ? '{ keys, hosts }' : 'a JWK (for a scope, write { keys: jwk, hosts })'
    // The member's name only: a JSON.stringify of the entry could hold a private key.
    throw new KeyholeError(
      'bad_request',
      `${where} has an unknown member ${JSON.stringify(unknown.slice(0, 40))}; expected ${hint}`,
    )
  }
}

function isTrustedIssuer(value: IssuerOption): value is TrustedIssuer {
  if (typeof value !== 'object' || value === null || value instanceof URL) return false
  const v = value as { keys?: unknown; hosts?: unknown; publicJwks?: unknown }
  if (!('keys' in v)) return false
  // A JWK set is `{ keys: [...] }`; a TrustedIssuer's keys is anything else, or comes with hosts.
  return 'hosts' in v || !Array.isArray(v.keys)
}

async function importIssuerKeys(
  list: readonly unknown[],
  scope: readonly HostRule[] | undefined,
): Promise<Map<string, IssuerKey>> {
  const out = new Map<string, IssuerKey>()
  for (const item of list) {
    if (!isIssuerJwk(item)) continue
    const bare = bareIssuerJwk(item)
    if (bare.d !== undefined) throw new KeyholeError('invalid_key', 'trusted issuer keys must be public keys')
    const kid = await verifiedIssuerKid(bare)
    const { kid: _kid, ...material } = bare
    let key: CryptoKey
    try {
      key = (await importJWK(material, bare.alg)) as CryptoKey
    } catch {
      throw new KeyholeError('invalid_key', 'a trusted issuer key does not import as a P-256 or Ed25519 key')
    }
    out.set(
      kid,
      Object.freeze({ kid, alg: bare.alg, jwk: publicIssuerJwk(bare, kid), key, ...(scope && { scope }) }),
    )
  }
  return out
}

function listOf(keys: IssuerKeys): readonly unknown[] {
  // `{ keys: [jwk], hosts }`: the list itself, as `{ keys: { keys: [jwk] }, hosts }` would be.
  if (Array.isArray(keys)) return keys
  if (typeof keys === 'object' && keys !== null) {
    if (typeof (keys as { publicJwks?: unknown }).publicJwks === 'function') {
      return (keys as { publicJwks(): { keys: readonly unknown[] } }).publicJwks().keys
    }
    const set = (keys as { keys?: unknown }).keys
    if (Array.isArray(set)) return set
    return [keys]
  }
  throw new KeyholeError('invalid_key', 'an issuer needs keys: a JWK, a JWK set, a keyring or a JWKS URL')
}

/**
 * Compiles `createOpener({ issuers })`: checks every static key and every scope pattern at once
 * (so a bad configuration fails at start), imports keys lazily on first use, and fetches URL
 * sources when a token names a kid not loaded yet.
 *
 * @example
 * ```ts
 * const set = createIssuerSet([toPublicJwk(issuer), { keys: 'https://mint.internal/issuer.json', hosts: ['*.github.com'] }])
 * const key = await set.find(kid)
 * ```
 */
export function createIssuerSet(
  issuers: readonly IssuerOption[] | undefined,
  fetchOptions: FetchJwksOptions = {},
  now: () => number = Date.now,
): IssuerSet {
  if (issuers !== undefined && !Array.isArray(issuers)) {
    throw new KeyholeError('bad_request', 'issuers must be a list of issuer keys or { keys, hosts }')
  }
  const sources: Source[] = (issuers ?? []).map((entry, i) => {
    checkEntry(entry, i)
    const trusted = isTrustedIssuer(entry)
    const keys = trusted ? entry.keys : (entry as IssuerKeys)
    const hosts = trusted ? entry.hosts : undefined
    if (hosts !== undefined && (!Array.isArray(hosts) || hosts.length === 0)) {
      throw new KeyholeError('bad_request', `issuers[${i}].hosts must be a non-empty list of host patterns`)
    }
    let scope: HostRule[] | undefined
    try {
      scope = hosts?.map((h) => parseHostPattern(h))
    } catch {
      throw new KeyholeError('bad_request', `issuers[${i}].hosts holds an invalid host pattern`)
    }
    if (typeof keys === 'string' || keys instanceof URL) {
      if (trusted) checkEntry(keys, i)
    } else {
      // Shape-checked now so a broken configuration fails at start, not on the first token.
      let issuerKeys = 0
      for (const item of listOf(keys)) {
        if (!isIssuerJwk(item)) continue
        bareIssuerJwk(item)
        issuerKeys++
      }
      if (issuerKeys === 0)
        throw new KeyholeError(
          'bad_request',
          `issuers[${i}] holds no issuer key (use "sig", ES256 or EdDSA): an encryption key set cannot verify a grant (the CLI's 'keyhole jwks --issuer' lists issuer keys)`,
        )
    }
    return { keys, ...(scope && { scope }), fetchedAt: Number.NEGATIVE_INFINITY, loaded: new Map() }
  })
  const byKid = new Map<string, IssuerKey>()
  let staticLoad: Promise<void> | undefined
  const urlSources = sources.filter((source) => typeof source.keys === 'string' || source.keys instanceof URL)
  // A key the issuer took out of its JWKS must stop being trusted: a source older than its cache
  // TTL is fetched again in the background (at most once a second, however short the TTL).
  const refreshMs = Math.max(toSeconds(fetchOptions.cacheTtl ?? '5m') * 1000, 1000)

  const refreshStale = () => {
    const t = now()
    for (const source of urlSources) {
      if (source.pending || source.fetchedAt === Number.NEGATIVE_INFINITY) continue
      if (t - source.fetchedAt < refreshMs) continue
      source.pending = fetchSource(source).finally(() => {
        source.pending = undefined
      })
    }
  }

  const rebuild = () => {
    byKid.clear()
    for (const source of sources)
      for (const [kid, key] of source.loaded) if (!byKid.has(kid)) byKid.set(kid, key)
  }

  const loadStatic = () => {
    staticLoad ??= (async () => {
      for (const source of sources) {
        if (typeof source.keys === 'string' || source.keys instanceof URL) continue
        source.loaded = await importIssuerKeys(listOf(source.keys), source.scope)
      }
      rebuild()
    })()
    return staticLoad
  }

  async function fetchSource(source: Source): Promise<void> {
    source.fetchedAt = now()
    try {
      // Never from fetchJwks' shared cache: this source keeps its own keys and refetch schedule.
      const jwks = await fetchJwks(source.keys as string | URL, { ...fetchOptions, cacheTtl: 0 })
      source.loaded = await importIssuerKeys(jwks.keys as readonly unknown[], source.scope)
    } catch {
      // An issuer JWKS that cannot be fetched trusts nothing new; keys loaded earlier stay.
      return
    }
    rebuild()
  }

  return {
    empty: sources.length === 0,
    get(kid) {
      if (urlSources.length > 0) refreshStale()
      return byKid.get(kid)
    },
    async find(kid) {
      await loadStatic()
      const known = byKid.get(kid)
      if (known) return known
      const waits: Promise<void>[] = []
      for (const source of sources) {
        if (typeof source.keys !== 'string' && !(source.keys instanceof URL)) continue
        if (!source.pending && now() - source.fetchedAt >= ISSUER_REFETCH_MS) {
          source.pending = fetchSource(source).finally(() => {
            source.pending = undefined
          })
        }
        if (source.pending) waits.push(source.pending)
      }
      if (waits.length === 0) return undefined
      await Promise.all(waits)
      return byKid.get(kid)
    },
  }
}
