import { KeyholeClientError } from './errors.js'

/** A proof-of-possession key pair: the private key cannot be exported. */
export interface ProofKey extends CryptoKeyPair {
  /** `ES256` (P-256, default) or `EdDSA` (Ed25519). */
  readonly alg: 'ES256' | 'EdDSA'
  /** The public key as a JWK (public members only): what `mint`/`attenuate` take as `bindKey`. */
  readonly publicJwk: JsonWebKey
  /** Its RFC 7638 thumbprint: the `cnf.jkt` a token bound to this key carries. */
  readonly jkt: string
}

/** Options of {@link generateProofKey}. */
export interface GenerateProofKeyOptions {
  /** `'ES256'` (default) or `'EdDSA'`. */
  readonly alg?: 'ES256' | 'EdDSA'
}

function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Encodes text or bytes as unpadded base64url. */
export function encodeBase64url(input: string | Uint8Array): string {
  return base64url(typeof input === 'string' ? new TextEncoder().encode(input) : input)
}

/**
 * The RFC 7638 thumbprint (SHA-256, base64url) of a P-256 or Ed25519 public JWK.
 *
 * @example
 * ```ts
 * const jkt = await jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: '...' })
 * ```
 */
export async function jwkThumbprint(jwk: JsonWebKey): Promise<string> {
  // The required members in lexicographic order, no whitespace (RFC 7638 §3.2).
  const canonical =
    jwk.kty === 'EC'
      ? JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
      : JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical))
  return base64url(new Uint8Array(digest))
}

/**
 * Generates the key a sandbox proves possession with. The private key is non-extractable, so
 * code that holds the key pair can sign proofs but never read the key out. Bind a token to it with
 * `mint(grant, { bindKey: key.publicJwk })` or `attenuate(token, { bindKey: key.publicJwk })`,
 * then pass it to {@link createFetch} as `proofKey`.
 *
 * @example
 * ```ts
 * const proofKey = await generateProofKey()
 * // hand proofKey.publicJwk to whoever mints or attenuates the token
 * const fetch = createFetch({ proxy, tokens: [boundToken], proofKey })
 * ```
 */
export async function generateProofKey(options: GenerateProofKeyOptions = {}): Promise<ProofKey> {
  const alg = options.alg ?? 'ES256'
  if (alg !== 'ES256' && alg !== 'EdDSA') {
    throw new KeyholeClientError('invalid_options', 'alg must be "ES256" or "EdDSA"')
  }
  const params = alg === 'ES256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'Ed25519' }
  const pair = (await crypto.subtle.generateKey(params, false, ['sign', 'verify'])) as CryptoKeyPair
  // The raw point, not a JWK export: on Node 20 a JWK export of a key fresh from generateKey can
  // deadlock with the garbage collector finalizing the job that made it (the raw export runs on
  // the thread pool). P-256: 0x04 || x || y; Ed25519: x.
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey))
  const publicJwk: JsonWebKey =
    alg === 'ES256'
      ? { kty: 'EC', crv: 'P-256', x: base64url(raw.subarray(1, 33)), y: base64url(raw.subarray(33, 65)) }
      : { kty: 'OKP', crv: 'Ed25519', x: base64url(raw) }
  return {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    alg,
    publicJwk,
    jkt: await jwkThumbprint(publicJwk),
  }
}
