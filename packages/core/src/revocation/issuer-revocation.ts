/**
 * How long a revocation of a whole issuer key (`issuer:<kid>`) is kept: ten years. A token's own
 * revocation can end with the token's expiry, but an issuer key can go on signing new grants for
 * as long as it is trusted, so its revocation must outlive any of them. Remove the key from the
 * trusted issuers as well: that is what ends trust for good.
 */
export const ISSUER_REVOCATION_SECONDS = 10 * 365 * 24 * 60 * 60

const KID = /^[A-Za-z0-9_-]{43}$/

/**
 * The store id that revokes every grant one issuer key signed.
 *
 * @example
 * ```ts
 * await revocations.revoke(issuerRevocationId(kid), new Date(Date.now() + ISSUER_REVOCATION_SECONDS * 1000))
 * ```
 */
export function issuerRevocationId(issuerKid: string): string {
  return `issuer:${issuerKid}`
}

/**
 * Whether `value` has the shape of an issuer key's `kid`: its RFC 7638 SHA-256 thumbprint in
 * base64url, 43 characters. A revocation naming anything else could never match a grant.
 *
 * @example
 * ```ts
 * isIssuerKid('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs') // true
 * isIssuerKid('typo!') // false
 * ```
 */
export function isIssuerKid(value: unknown): value is string {
  return typeof value === 'string' && KID.test(value)
}
