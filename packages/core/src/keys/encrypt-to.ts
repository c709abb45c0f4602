import { CompactEncrypt, importJWK } from 'jose'
import { KeyholeError } from '../errors.js'
import { type FetchJwksOptions, fetchJwks } from '../fetch-jwks.js'
import type { KeyholePublicJwk, PublicJwks } from '../types.js'
import { type BareJwk, bareJwk, KEY_ALG, verifiedKid } from './jwk.js'

/** Where a token is encrypted to: a public JWK, a JWKS (newest `enc` key wins), or a JWKS URL. */
export type Recipient = PublicJwks | KeyholePublicJwk | string | URL

/** A resolved recipient: its thumbprint and imported public key. */
export interface ResolvedRecipient {
  readonly kid: string
  readonly key: CryptoKey
}

function usable(key: unknown): BareJwk | undefined {
  const jwk = key as { use?: unknown; alg?: unknown } | null
  if (typeof jwk !== 'object' || jwk === null || jwk.use !== 'enc') return undefined
  try {
    return bareJwk(key)
  } catch {
    return undefined
  }
}

/** Picks the recipient JWK: the key itself, or the newest (last) usable key of a set. */
async function recipientJwk(to: Recipient, jwksOptions: FetchJwksOptions | undefined): Promise<BareJwk> {
  let jwks: unknown = to
  if (typeof to === 'string' || to instanceof URL) jwks = await fetchJwks(to, jwksOptions)
  const keys = (jwks as { keys?: unknown } | null)?.keys
  if (Array.isArray(keys)) {
    for (let i = keys.length - 1; i >= 0; i--) {
      const found = usable(keys[i])
      if (found) return found
    }
    throw new KeyholeError(
      'invalid_key',
      'the JWKS has no P-256 or X25519 key with use "enc" for ECDH-ES+A256KW',
    )
  }
  return bareJwk(jwks)
}

// Public CryptoKeys by thumbprint, so minting many tokens for one proxy imports its key once.
const imported = new Map<string, Promise<CryptoKey>>()
const MAX_IMPORTED = 64

function publicCryptoKey(jwk: BareJwk, kid: string): Promise<CryptoKey> {
  let key = imported.get(kid)
  if (!key) {
    const material =
      jwk.kty === 'EC'
        ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
        : { kty: jwk.kty, crv: jwk.crv, x: jwk.x }
    key = (importJWK(material, KEY_ALG) as Promise<CryptoKey>).catch(() => {
      imported.delete(kid)
      throw new KeyholeError('invalid_key', 'the recipient key is not a valid P-256 or X25519 public key')
    })
    if (imported.size >= MAX_IMPORTED) imported.delete(imported.keys().next().value as string)
    imported.set(kid, key)
  }
  return key
}

/**
 * Resolves `to` (fetching a JWKS URL, picking the newest `enc` key of a set), checks the key's
 * `kid` is its thumbprint, and imports it once.
 */
export async function resolveRecipient(
  to: Recipient,
  jwksOptions?: FetchJwksOptions,
): Promise<ResolvedRecipient> {
  const jwk = await recipientJwk(to, jwksOptions)
  const kid = await verifiedKid(jwk)
  return { kid, key: await publicCryptoKey(jwk, kid) }
}

/**
 * Encrypts a token's plaintext to a proxy key: ECDH-ES+A256KW, A256GCM, `typ: keyhole+jwt`, the
 * recipient's `kid`, and the public hints (`cty`, `hosts`, `jkt`) given in `header`.
 */
export function encryptTo(
  to: ResolvedRecipient,
  plaintext: Uint8Array,
  header: { cty?: string; hosts: readonly string[]; jkt?: string },
): Promise<string> {
  // jose makes the ephemeral key with WebCrypto and exports its JWK at once. The Node 20 lock
  // hazard detachedKey describes hangs node:crypto's synchronous generateKeyPairSync within
  // seconds under `--gc-global`, but not this asynchronous path (120,000 P-256 and X25519 rounds),
  // and a detached copy here would cost every mint about 0.6 ms (1.7–2×).
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({
      alg: KEY_ALG,
      enc: 'A256GCM',
      kid: to.kid,
      typ: 'keyhole+jwt',
      ...(header.cty !== undefined && { cty: header.cty }),
      hosts: header.hosts as string[],
      ...(header.jkt !== undefined && { jkt: header.jkt }),
    })
    .encrypt(to.key)
}
