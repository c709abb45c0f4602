// Signs grant JWSs the way an attacker or a buggy issuer could: any header, any payload text, any
// key — with WebCrypto directly, so headers jose would refuse to write (`alg: none`, `crit`, an
// embedded `jwk`) can be signed too.
import { base64url } from 'jose'
import { testIssuer } from './issuer.js'

/** The private issuer key to sign with (a keyhole issuer JWK: ES256 on P-256 or EdDSA on Ed25519). */
export interface SigningJwk {
  kty: string
  crv: string
  x: string
  y?: string
  d: string
  kid: string
  alg: string
}

/** Options of {@link craftJws}. */
export interface CraftJwsOptions {
  /** JWS header members to set on top of mint's; a member set to `undefined` is left out. */
  header?: Record<string, unknown>
  /** How to sign: with the issuer key (default), `none` (empty signature) or HS256 with `secret`. */
  signature?: 'key' | 'none' | { hs256: Uint8Array<ArrayBuffer> }
}

const bytes = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text)

/**
 * The grant JWS of `claims` (or of the exact payload text), with keyhole's header by default
 * (`alg` from the key, `kid`, `typ: keyhole-grant+jwt`), signed by `issuer` (default the test
 * issuer): the plaintext of a signed token.
 */
export async function craftJws(
  claims: Record<string, unknown> | string,
  issuer: SigningJwk = testIssuer as SigningJwk,
  options: CraftJwsOptions = {},
): Promise<string> {
  const header: Record<string, unknown> = {
    alg: issuer.alg,
    kid: issuer.kid,
    typ: 'keyhole-grant+jwt',
    ...options.header,
  }
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name]
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(
    typeof claims === 'string' ? claims : JSON.stringify(claims),
  )}`
  const signature = options.signature ?? 'key'
  if (signature === 'none') return `${input}.`
  let sig: ArrayBuffer
  if (signature === 'key') {
    const { kid: _k, alg: _a, ...material } = issuer
    const ec = issuer.crv === 'P-256'
    const key = await crypto.subtle.importKey(
      'jwk',
      material,
      ec ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'Ed25519' },
      false,
      ['sign'],
    )
    sig = await crypto.subtle.sign(
      ec ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' },
      key,
      bytes(input),
    )
  } else {
    const key = await crypto.subtle.importKey(
      'raw',
      signature.hs256,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    )
    sig = await crypto.subtle.sign('HMAC', key, bytes(input))
  }
  return `${input}.${base64url.encode(new Uint8Array(sig))}`
}
