// Builds tokens the way an attacker can: ECDH-ES+A256KW / A256GCM done by hand with WebCrypto
// (RFC 7518 §4.6), so any protected header text and any plaintext can be encrypted properly to a
// real key — duplicate members, `crit`, odd JSON — and the checks after decryption are reached.
// `craft` seals a grant JWS signed by the test issuer (as mint does), so the checks after the
// signature is verified are reached too.

import type { KeyholePublicJwk } from '@keyhole/core'
import { base64url } from 'jose'
import { craftJws } from '../../../packages/core/test/helpers/craft.js'
import { testIssuer } from '../../../packages/core/test/kit/issuer.js'

const utf8 = (text: string) => new TextEncoder().encode(text)

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

function be32(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}

export interface Sealed {
  token: string
  /** The epk the header was built with (the real ephemeral public key). */
  epk: Record<string, string>
}

/**
 * Encrypts `plaintext` to `recipient` under the protected header text that `header(epk)` returns.
 * The header is used verbatim (base64url of exactly that text) as the AAD.
 */
export async function seal(
  recipient: KeyholePublicJwk,
  header: (epk: Record<string, string>) => string,
  plaintext: string | Uint8Array,
): Promise<Sealed> {
  const algorithm = recipient.crv === 'X25519' ? { name: 'X25519' } : { name: 'ECDH', namedCurve: 'P-256' }
  const { kid: _kid, alg: _alg, use: _use, ...material } = recipient
  const publicKey = await crypto.subtle.importKey('jwk', material as JsonWebKey, algorithm, false, [])
  const pair = (await crypto.subtle.generateKey(algorithm, true, ['deriveBits'])) as CryptoKeyPair
  const exported = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as Record<string, string>
  const epk: Record<string, string> =
    recipient.crv === 'X25519'
      ? { kty: 'OKP', crv: 'X25519', x: exported.x! }
      : { kty: 'EC', crv: 'P-256', x: exported.x!, y: exported.y! }
  const shared = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: algorithm.name, public: publicKey } as EcdhKeyDeriveParams,
      pair.privateKey,
      256,
    ),
  )
  // Concat KDF, one round: SHA-256(counter || Z || AlgorithmID || PartyUInfo || PartyVInfo || keydatalen).
  const alg = utf8('ECDH-ES+A256KW')
  const kek = new Uint8Array(
    await crypto.subtle.digest(
      'SHA-256',
      concat(be32(1), shared, be32(alg.length), alg, be32(0), be32(0), be32(256)),
    ),
  )
  const wrapping = await crypto.subtle.importKey('raw', kek, 'AES-KW', false, ['wrapKey'])
  const cek = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt'])
  const wrapped = new Uint8Array(await crypto.subtle.wrapKey('raw', cek, wrapping, 'AES-KW'))
  const protectedHeader = base64url.encode(header(epk))
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const body = typeof plaintext === 'string' ? utf8(plaintext) : plaintext
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: utf8(protectedHeader), tagLength: 128 },
      cek,
      body as Uint8Array<ArrayBuffer>,
    ),
  )
  const token = [
    protectedHeader,
    base64url.encode(wrapped),
    base64url.encode(iv),
    base64url.encode(sealed.slice(0, -16)),
    base64url.encode(sealed.slice(-16)),
  ].join('.')
  return { token, epk }
}

/** keyhole's own header members for `recipient` (a signed grant: `cty: 'JWT'`), to be edited by a test. */
export function keyholeHeader(
  recipient: KeyholePublicJwk,
  hosts: readonly string[],
): Record<string, unknown> {
  return { alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: recipient.kid, typ: 'keyhole+jwt', cty: 'JWT', hosts }
}

/**
 * The grant JWS of `claims` (or of the exact payload text), signed by the test issuer: the
 * plaintext of a signed token.
 */
export function signClaims(claims: Record<string, unknown> | string): Promise<string> {
  return craftJws(claims, testIssuer)
}

/** Claims keyhole's mint would write, valid for an hour. */
export function claimsFor(hosts: readonly string[], value: string): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return {
    jti: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
    iat: now,
    exp: now + 3600,
    hosts,
    inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${value}` }],
  }
}

/**
 * Seals `claims`, signed by the test issuer, under keyhole's header (`hosts` hint: `hint`, else the
 * claims' hosts) with `edit` applied.
 */
export async function craft(
  recipient: KeyholePublicJwk,
  claims: Record<string, unknown> | string,
  edit: (header: Record<string, unknown>, epk: Record<string, string>) => Record<string, unknown> | string = (
    h,
  ) => h,
  hint?: readonly string[],
): Promise<string> {
  const hosts = hint ?? (typeof claims === 'string' ? ['api.example.com'] : (claims.hosts as string[]))
  const { token } = await seal(
    recipient,
    (epk) => {
      const edited = edit({ ...keyholeHeader(recipient, hosts), epk }, epk)
      return typeof edited === 'string' ? edited : JSON.stringify(edited)
    },
    await signClaims(claims),
  )
  return token
}
