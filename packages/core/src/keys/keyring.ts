import { importJWK } from 'jose'
import { KeyholeError } from '../errors.js'
import type { KeyCurve, KeyholePrivateJwk, KeyholePublicJwk, PublicJwks } from '../types.js'
import { type BareJwk, bareJwk, KEY_ALG, privateJwk, publicJwk, thumbprint } from './jwk.js'

/**
 * The private keys a proxy opens tokens with. Keys are ordered oldest to newest; the newest
 * ({@link Keyring.current}) is the one minters should encrypt to, and it is the LAST entry of
 * {@link Keyring.publicJwks}, which is exactly the key `mint({ to: jwks })` picks.
 */
export interface Keyring {
  /** The newest key: the one tokens should be minted for (last in `publicJwks().keys`). */
  readonly current: KeyholePrivateJwk
  /**
   * Bumped on every `add` and `retire`. Openers compare it to drop cached grants whose key was
   * retired without scanning on every request.
   */
  readonly revision: number
  /** Adds a key as the newest one. Throws `invalid_key` if its `kid` is already in the ring. */
  add(key: KeyholePrivateJwk): void
  /**
   * Removes a key: tokens encrypted to it no longer open (cached grants included). Returns
   * false when the kid is unknown. Throws `invalid_key` rather than remove the last key.
   */
  retire(kid: string): boolean
  /** The public keys, oldest first and newest (current) last, without any private member. */
  publicJwks(): PublicJwks
  /** The private key with this kid. */
  get(kid: string): KeyholePrivateJwk | undefined
  has(kid: string): boolean
  /** Key ids, oldest first. */
  kids(): string[]
  /** The curve of the key with this kid, for checking a token's ephemeral key before decrypting. */
  curveOf(kid: string): KeyCurve | undefined
  /**
   * The imported, non-extractable CryptoKey for a kid (imported once, then cached). Rejects with
   * `invalid_key` if the key's `kid` is not its thumbprint or the key does not import.
   */
  cryptoKey(kid: string): Promise<CryptoKey> | undefined
}

interface Entry {
  readonly jwk: KeyholePrivateJwk
  readonly pub: KeyholePublicJwk
  readonly cryptoKey: Promise<CryptoKey>
}

async function importPrivate(bare: BareJwk): Promise<CryptoKey> {
  // Checked here rather than in add(): hashing is asynchronous and createKeyring is not.
  if ((await thumbprint(bare)) !== bare.kid) {
    throw new KeyholeError('invalid_key', 'a keyring key id (kid) is not the RFC 7638 thumbprint of its key')
  }
  const { kid: _kid, ...material } = bare
  try {
    return (await importJWK(material, KEY_ALG, { extractable: false })) as CryptoKey
  } catch {
    throw new KeyholeError('invalid_key', 'a keyring key does not import as a P-256 or X25519 private key')
  }
}

function entryFor(key: KeyholePrivateJwk): Entry {
  const bare = bareJwk(key)
  if (bare.d === undefined) throw new KeyholeError('invalid_key', 'a keyring holds private keys (with "d")')
  if (bare.kid === undefined)
    throw new KeyholeError('invalid_key', 'a keyring key needs its kid; use importKey()')
  const cryptoKey = importPrivate(bare)
  // Imported eagerly so the first open does not pay for it; a failure surfaces on use.
  cryptoKey.catch(() => {})
  return {
    jwk: privateJwk(bare as BareJwk & { d: string }, bare.kid),
    pub: publicJwk(bare, bare.kid),
    cryptoKey,
  }
}

/**
 * Creates a keyring from private keys, oldest first (the last one is the newest and mints).
 * Accepts an array or a private key set `{ keys: [...] }` as `keyhole keygen` writes it.
 * Older keys keep opening their tokens until `retire(kid)`, which is how keys rotate:
 * `add(newKey)`, publish the JWKS, wait for the longest token lifetime, `retire(oldKid)`.
 *
 * @example
 * ```ts
 * const keyring = createKeyring([await generateKey()])
 * keyring.add(await generateKey())      // newest: minters now encrypt to it
 * keyring.retire(keyring.kids()[0]!)    // tokens for the old key stop opening
 * const jwks = keyring.publicJwks()     // serve at /.well-known/jwks.json
 * ```
 */
export function createKeyring(
  keys: readonly KeyholePrivateJwk[] | { readonly keys: readonly KeyholePrivateJwk[] },
): Keyring {
  const list = Array.isArray(keys) ? keys : (keys as { keys?: unknown }).keys
  if (!Array.isArray(list) || list.length === 0) {
    throw new KeyholeError('invalid_key', 'a keyring needs at least one private key')
  }
  const entries = new Map<string, Entry>()
  let revision = 0
  let jwks: PublicJwks | undefined
  let current: KeyholePrivateJwk

  const add = (key: KeyholePrivateJwk): void => {
    const entry = entryFor(key)
    if (entries.has(entry.jwk.kid))
      throw new KeyholeError('invalid_key', 'that key is already in the keyring')
    entries.set(entry.jwk.kid, entry)
    current = entry.jwk
    revision++
    jwks = undefined
  }
  for (const key of list) add(key)

  return {
    get current() {
      return current
    },
    get revision() {
      return revision
    },
    add,
    retire(kid) {
      if (!entries.has(kid)) return false
      if (entries.size === 1) {
        throw new KeyholeError(
          'invalid_key',
          'cannot retire the last key of a keyring; add its successor first',
        )
      }
      entries.delete(kid)
      // Map order is insertion order, so the last entry is the newest remaining key.
      current = [...entries.values()].at(-1)!.jwk
      revision++
      jwks = undefined
      return true
    },
    publicJwks() {
      jwks ??= Object.freeze({ keys: Object.freeze([...entries.values()].map((e) => e.pub)) })
      return jwks
    },
    get: (kid) => entries.get(kid)?.jwk,
    has: (kid) => entries.has(kid),
    kids: () => [...entries.keys()],
    curveOf: (kid) => entries.get(kid)?.jwk.crv,
    cryptoKey: (kid) => entries.get(kid)?.cryptoKey,
  }
}
