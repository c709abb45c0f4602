/**
 * A fresh copy of a key WebCrypto just generated, imported from its PKCS#8 (private) or SPKI
 * (public) bytes, for keys whose JWK is exported next.
 *
 * Why: on Node 20 a generated key shares a lock with the native job that generated it. A JWK
 * export holds that lock while it allocates; if a garbage collection finalizes the job at that
 * moment, the job's destructor waits for the same lock and the thread deadlocks (seen once in this
 * project's test suite, the process hung in `ExportJWKEdKey` → `~KeyGenJob`). The byte exports run
 * on the thread pool and the imported copy shares no lock with any job, so its JWK export cannot
 * meet a finalizer that waits for it. Elsewhere (Bun, Deno, Workers, newer Node) it is merely a
 * copy. Measured here under `node --gc-global`: node:crypto's synchronous `generateKeyPairSync` +
 * JWK export hangs within seconds (P-256 and X25519); WebCrypto's asynchronous `generateKey` did
 * not in 120,000 rounds, so this copy is a belt for one-off key generation (`generateKey`, the
 * CA), not something every mint pays for.
 *
 * @example
 * ```ts
 * const { privateKey } = await crypto.subtle.generateKey({ name: 'X25519' }, true, ['deriveBits'])
 * const jwk = await crypto.subtle.exportKey('jwk', await detachedKey(privateKey))
 * ```
 */
export async function detachedKey(key: CryptoKey): Promise<CryptoKey> {
  const format = key.type === 'private' ? 'pkcs8' : 'spki'
  const bytes = await crypto.subtle.exportKey(format, key)
  return crypto.subtle.importKey(format, bytes, key.algorithm, true, key.usages)
}
