/**
 * Where revoked token ids live. Revocation is always by `jti`, never by a hash of the token
 * string, so no re-encoding of a token escapes it.
 *
 * Implementations must throw (or reject) when they cannot answer; the opener turns that into
 * `revocation_unavailable` and fails closed unless told otherwise.
 *
 * @example
 * ```ts
 * const store: RevocationStore = {
 *   async isRevoked(jti) { return (await db.query('select 1 from revoked where jti = $1', [jti])).rowCount > 0 },
 *   async revoke(jti, expiresAt) { await db.query('insert into revoked values ($1, $2) on conflict do nothing', [jti, expiresAt]) },
 * }
 * ```
 */
export interface RevocationStore {
  /** Whether `jti` is revoked: a boolean when the answer is at hand (a cache), else a promise. */
  isRevoked(jti: string): boolean | Promise<boolean>
  /** Records `jti` as revoked, kept at least until `expiresAt` (the token's own expiry). */
  revoke(jti: string, expiresAt: Date): Promise<void>
}

/**
 * A store that can tell other replicas about revocations as they happen (Redis pub/sub,
 * Postgres LISTEN/NOTIFY). The caching wrapper subscribes so a revoke lands everywhere at once.
 */
export interface RevocationFeed {
  /** Calls `listener` with each `jti` revoked anywhere. Returns an unsubscribe function. */
  onRevoked(listener: (jti: string) => void): () => void
}
