// Builds tokens the way an attacker (or a buggy minter) could: any header, any plaintext,
// properly encrypted to a real key with jose, so the checks AFTER decryption are reached too.
import { base64url, CompactEncrypt, importJWK } from 'jose'
import type { KeyholePublicJwk } from '../../src/types.js'

/** A credential value that must never show up in an error, log or event. */
export const SECRET = 'sk_live_DO-NOT-LEAK_0123456789abcdef'

/** Claims keyhole's mint would produce, valid for an hour from `nowSeconds`. */
export function validClaims(nowSeconds = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  return {
    jti: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
    iat: nowSeconds,
    exp: nowSeconds + 3600,
    hosts: ['api.example.com'],
    inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }],
  }
}

export interface CraftOptions {
  /** Protected-header members to set; a member set to `undefined` is left out. */
  header?: Record<string, unknown>
  /** The claims (serialized as JSON) or the exact plaintext. Default {@link validClaims}. */
  claims?: Record<string, unknown> | string
}

/** Encrypts with ECDH-ES+A256KW/A256GCM to `jwk`, with keyhole's header unless overridden. */
export async function craftToken(jwk: KeyholePublicJwk, options: CraftOptions = {}): Promise<string> {
  const claims = options.claims ?? validClaims()
  const plaintext = new TextEncoder().encode(typeof claims === 'string' ? claims : JSON.stringify(claims))
  const hosts = typeof claims === 'string' ? ['api.example.com'] : claims.hosts
  const header: Record<string, unknown> = {
    alg: 'ECDH-ES+A256KW',
    enc: 'A256GCM',
    kid: jwk.kid,
    typ: 'keyhole+jwt',
    hosts,
    ...options.header,
  }
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name]
  const { kid: _kid, alg: _alg, use: _use, ...material } = jwk
  const key = await importJWK(material, 'ECDH-ES+A256KW')
  // biome-ignore lint/suspicious/noExplicitAny: the header is deliberately anything
  return new CompactEncrypt(plaintext).setProtectedHeader(header as any).encrypt(key)
}

/** Replaces compact segment `index` (0 header … 4 tag) with `replace(segment)`. */
export function withSegment(token: string, index: number, replace: (segment: string) => string): string {
  const parts = token.split('.')
  parts[index] = replace(parts[index] ?? '')
  return parts.join('.')
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Changes one base64url character at `position` (negative counts from the end) to another. */
export function flipChar(segment: string, position: number, xor = 1): string {
  const at = position < 0 ? segment.length + position : position
  const index = ALPHABET.indexOf(segment[at] ?? 'A')
  return segment.slice(0, at) + ALPHABET[(index ^ xor) & 63] + segment.slice(at + 1)
}

/** Encodes a JSON header as base64url, for hand-built tokens. */
export function encodeHeader(header: Record<string, unknown>): string {
  return base64url.encode(JSON.stringify(header))
}

const bytes = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text)
function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
function uint32(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}

/**
 * ECDH-ES+A256KW / A256GCM done by hand with WebCrypto (RFC 7518 §4.6), independent of jose, so
 * a test can encrypt under ANY protected header text — including members jose refuses to write
 * (`crit`), duplicate members, or odd JSON. `header(epk)` returns the exact header JSON text.
 */
export async function rawEncrypt(
  jwk: KeyholePublicJwk,
  header: (epk: Record<string, string>) => string,
  plaintext: Uint8Array<ArrayBuffer> | string,
): Promise<string> {
  const algorithm = jwk.crv === 'X25519' ? { name: 'X25519' } : { name: 'ECDH', namedCurve: 'P-256' }
  const { kid: _k, alg: _a, use: _u, ...material } = jwk
  const recipient = await crypto.subtle.importKey('jwk', material, algorithm, true, [])
  const ephemeral = (await crypto.subtle.generateKey(algorithm, true, ['deriveBits'])) as CryptoKeyPair
  const { kty, crv, x, y } = (await crypto.subtle.exportKey('jwk', ephemeral.publicKey)) as Record<
    string,
    string
  >
  const epk: Record<string, string> = y ? { kty: kty!, crv: crv!, x: x!, y } : { kty: kty!, crv: crv!, x: x! }
  const z = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: algorithm.name, public: recipient } as EcdhKeyDeriveParams,
      ephemeral.privateKey,
      256,
    ),
  )
  const alg = bytes('ECDH-ES+A256KW')
  const otherInfo = concatBytes(uint32(alg.length), alg, uint32(0), uint32(0), uint32(256))
  const kek = new Uint8Array(await crypto.subtle.digest('SHA-256', concatBytes(uint32(1), z, otherInfo)))
  const cek = crypto.getRandomValues(new Uint8Array(32))
  const kwKey = await crypto.subtle.importKey('raw', kek, 'AES-KW', false, ['wrapKey'])
  const cekKey = await crypto.subtle.importKey('raw', cek, 'AES-GCM', true, ['encrypt'])
  const encryptedKey = new Uint8Array(await crypto.subtle.wrapKey('raw', cekKey, kwKey, 'AES-KW'))
  const protectedHeader = base64url.encode(header(epk))
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: bytes(protectedHeader), tagLength: 128 },
      cekKey,
      typeof plaintext === 'string' ? bytes(plaintext) : plaintext,
    ),
  )
  return [
    protectedHeader,
    base64url.encode(encryptedKey),
    base64url.encode(iv),
    base64url.encode(sealed.slice(0, -16)),
    base64url.encode(sealed.slice(-16)),
  ].join('.')
}

/** Options of {@link craftJws}. */
export interface CraftJwsOptions {
  /** JWS header members to set on top of mint's; a member set to `undefined` is left out. */
  header?: Record<string, unknown>
  /** How to sign: with the issuer key (default), `none` (empty signature) or HS256 with `secret`. */
  signature?: 'key' | 'none' | { hs256: Uint8Array<ArrayBuffer> }
}

/**
 * Signs claims the way an attacker or a buggy issuer could: any JWS header, keyhole's by default
 * (`alg` from the key, `kid`, `typ: keyhole-grant+jwt`), signed with WebCrypto directly so that
 * headers jose would refuse to write (`alg: none`, `crit`, embedded `jwk`) can be built too.
 */
export async function craftJws(
  claims: Record<string, unknown> | string,
  issuer: { kty: string; crv: string; x: string; y?: string; d: string; kid: string; alg: string },
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

/** Encrypts an (already signed) JWS to `jwk` as a signed keyhole token: `cty: 'JWT'`. */
export function craftSignedToken(
  jwk: KeyholePublicJwk,
  jws: string,
  hosts: readonly string[] = ['api.example.com'],
  header: Record<string, unknown> = {},
): Promise<string> {
  return craftToken(jwk, { claims: jws, header: { cty: 'JWT', hosts, ...header } })
}
