import { encodeBase64url, type ProofKey } from './proof-key.js'

/** The header a proof travels in. */
export const PROOF_HEADER = 'Keyhole-Proof'

/** What a proof is for. */
export interface ProofRequest {
  /** The request method, as sent. */
  readonly method: string
  /**
   * The TARGET URL the request is for (not the proxy's): `https://api.github.com/user`. The query
   * and fragment are dropped; the port is kept only when it is not the scheme's default.
   */
  readonly url: string | URL
  /** The token the request carries, exactly as sent. */
  readonly token: string
}

/**
 * The `htu` of a proof: scheme and host in lower case, the host's trailing dot removed (as the
 * proxy normalizes the target), the port only when not the default, the path as it will be
 * forwarded, no query or fragment.
 */
export function proofUrl(url: string | URL): string {
  const parsed = typeof url === 'string' ? new URL(url) : url
  return `${parsed.protocol}//${parsed.host.replace(TRAILING_DOT, '')}${parsed.pathname}`
}

// The dot ending the host name, before an optional port.
const TRAILING_DOT = /\.(?=(?::\d+)?$)/

/**
 * Signs a fresh proof of possession for one request: a DPoP-shaped JWS (`typ: dpop+jwt`) with the
 * public key in its header and `htm`, `htu`, `iat`, a random `jti` and `ath` (the token's SHA-256)
 * in its claims. Send it as `Keyhole-Proof`; {@link createFetch} does that for you when given a
 * `proofKey`. A proof is good for one request.
 *
 * @example
 * ```ts
 * const proof = await createProof(proofKey, { method: 'GET', url: 'https://api.github.com/user', token })
 * await fetch(`${proxy}/https/api.github.com/user`, { headers: { 'X-Keyhole-Token': token, 'Keyhole-Proof': proof } })
 * ```
 */
export async function createProof(key: ProofKey, request: ProofRequest): Promise<string> {
  const ath = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(request.token)))
  const header = { typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk }
  const claims = {
    htm: request.method,
    htu: proofUrl(request.url),
    iat: Math.floor(Date.now() / 1000),
    jti: encodeBase64url(crypto.getRandomValues(new Uint8Array(16))),
    ath: encodeBase64url(ath),
  }
  const input = `${encodeBase64url(JSON.stringify(header))}.${encodeBase64url(JSON.stringify(claims))}`
  const signature = await crypto.subtle.sign(
    key.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' },
    key.privateKey,
    new TextEncoder().encode(input),
  )
  return `${input}.${encodeBase64url(new Uint8Array(signature))}`
}
