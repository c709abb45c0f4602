import { KeyholeError } from '../errors.js'

/**
 * The longest `jti` (in UTF-8 bytes) any keyhole store accepts. Postgres cannot index a
 * primary-key value much above 2.7 kB, so every store shares this one limit rather than let
 * a token be revocable in memory and not in Postgres. keyhole's own ids are 22 characters.
 */
export const MAX_JTI_BYTES = 1024

// An unpaired surrogate would be replaced by U+FFFD on the way to Redis or Postgres, so two
// different ids could land on one key. NUL cannot be stored in a Postgres text column.
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const encoder = new TextEncoder()

/**
 * Throws `bad_request` unless `jti` is a token id every keyhole store can keep: a non-empty
 * string without NUL or unpaired surrogates, at most {@link MAX_JTI_BYTES} bytes of UTF-8.
 * Custom stores can call it to behave like the built-in ones.
 *
 * @example
 * ```ts
 * assertJti('3q2-7wEAAAAdeadbeef') // passes
 * assertJti('')                    // throws KeyholeError('bad_request')
 * ```
 */
export function assertJti(jti: unknown): asserts jti is string {
  if (
    typeof jti !== 'string' ||
    jti.length === 0 ||
    // 341 UTF-16 units never exceed 1023 UTF-8 bytes, so short ids skip the encoding
    (jti.length > 341 && encoder.encode(jti).length > MAX_JTI_BYTES) ||
    UNSTORABLE.test(jti)
  ) {
    throw new KeyholeError(
      'bad_request',
      `a jti is a non-empty string of at most ${MAX_JTI_BYTES} UTF-8 bytes without NUL or unpaired surrogates`,
    )
  }
}

/**
 * Returns `expiresAt` as epoch milliseconds; throws `bad_request` unless it is a valid `Date`.
 *
 * @example
 * ```ts
 * expiryMs(new Date(grant.exp * 1000)) // grant.exp * 1000
 * ```
 */
export function expiryMs(expiresAt: unknown): number {
  const ms = expiresAt instanceof Date ? expiresAt.getTime() : Number.NaN
  if (!Number.isFinite(ms)) throw new KeyholeError('bad_request', 'expiresAt must be a valid Date')
  return ms
}
