// A deliberately permissive ECDH-ES+A256KW / A256GCM encryptor (RFC 7518 §4.6) done by hand with
// node:crypto, for tests only. It wraps well-formed cryptography around whatever protected header
// text, key-derivation inputs and sizes a test asks for — things jose's encryptor refuses to
// write (`crit`, duplicate members, a wrong `apu`, a short tag) — so the checks a decryptor makes
// AFTER the key agreement are reached, and two decryptors can be compared on the same bytes.
import crypto from 'node:crypto'
import type { KeyCurve } from '../../src/types.js'
import { keyPairWithoutJob } from './keys.js'

/** base64url of bytes or of a string's UTF-8. */
export const b64u = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url')

/** The public half of a recipient key: a keyhole public JWK (extra members are ignored). */
export interface RecipientJwk {
  kty: string
  crv: string
  x: string
  y?: string
  kid?: string
}

/** Options of {@link encryptJwe}. */
export interface JweOptions {
  /**
   * The protected header: edit the default one (`alg`, `enc` and the real `epk`) and return an
   * object (serialized as JSON) or the exact header text.
   */
  header?: (header: Record<string, unknown>) => unknown
  /** Use this exact header segment (base64url) instead. */
  headerSegment?: string
  /** Raw header bytes to base64url-encode, instead of JSON. */
  headerBytes?: Uint8Array
  /** Ephemeral curve; default the recipient's. */
  ephemeralCurve?: 'P-256' | 'P-384' | 'X25519'
  /** Shared secret to derive from, instead of the real ECDH output (e.g. all zeros). */
  z?: Uint8Array
  apu?: Uint8Array
  apv?: Uint8Array
  /** Header values for apu/apv; default the base64url of `apu`/`apv` when those are given. */
  apuHeader?: unknown
  apvHeader?: unknown
  /** AlgorithmID for the Concat KDF; default 'ECDH-ES+A256KW'. */
  algorithmId?: string
  /** keydatalen written into OtherInfo; default 256. */
  kdfKeyBits?: number
  /** Content key; default 32 random bytes. */
  cek?: Uint8Array
  /** Initialization vector for GCM; default 12 random bytes. */
  iv?: Uint8Array
  /** GCM tag length in bytes; default 16. */
  tagLength?: number
  /** Default `{"sub":"crafted"}`. */
  plaintext?: Uint8Array | string
}

/** A compact JWE and the ephemeral public key it was built with. */
export interface Sealed {
  token: string
  /** The real ephemeral public key (what a faithful header carries as `epk`). */
  epk: Record<string, string>
}

const u32 = (n: number): Buffer => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(n)
  return out
}

function ephemeralPair(curve: string): crypto.KeyPairKeyObjectResult {
  return keyPairWithoutJob(curve as 'P-256' | 'P-384' | 'X25519')
}

/** Encrypts to `recipient` as an ECDH-ES+A256KW / A256GCM compact JWE, with the edits asked for. */
export function encryptJweDetailed(recipient: RecipientJwk, options: JweOptions = {}): Sealed {
  const ephemeral = ephemeralPair(options.ephemeralCurve ?? (recipient.crv as KeyCurve))
  const e = ephemeral.publicKey.export({ format: 'jwk' }) as Record<string, string>
  const epk: Record<string, string> = e.y
    ? { kty: e.kty!, crv: e.crv!, x: e.x!, y: e.y }
    : { kty: e.kty!, crv: e.crv!, x: e.x! }
  let z: Uint8Array
  if (options.z) z = options.z
  else {
    const { kty, crv, x, y } = recipient
    const publicKey = crypto.createPublicKey({ key: { kty, crv, x, ...(y ? { y } : {}) }, format: 'jwk' })
    try {
      z = crypto.diffieHellman({ privateKey: ephemeral.privateKey, publicKey })
    } catch {
      z = crypto.randomBytes(32) // curves differ: any secret will do, the token is meant to fail
    }
  }
  const apu = options.apu ?? new Uint8Array(0)
  const apv = options.apv ?? new Uint8Array(0)
  const algId = Buffer.from(options.algorithmId ?? 'ECDH-ES+A256KW')
  const other = Buffer.concat([
    u32(algId.length),
    algId,
    u32(apu.length),
    apu,
    u32(apv.length),
    apv,
    u32(options.kdfKeyBits ?? 256),
  ])
  // Concat KDF, one round: SHA-256(counter || Z || OtherInfo).
  const kek = crypto.createHash('sha256').update(u32(1)).update(z).update(other).digest()
  const cek = options.cek ?? crypto.randomBytes(32)
  const wrap = crypto.createCipheriv('id-aes256-wrap', kek, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'))
  const encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()])

  const header: Record<string, unknown> = { alg: 'ECDH-ES+A256KW', enc: 'A256GCM', epk }
  if (options.apuHeader !== undefined) header.apu = options.apuHeader
  else if (options.apu) header.apu = b64u(options.apu)
  if (options.apvHeader !== undefined) header.apv = options.apvHeader
  else if (options.apv) header.apv = b64u(options.apv)
  let headerSegment: string
  if (options.headerSegment !== undefined) headerSegment = options.headerSegment
  else if (options.headerBytes) headerSegment = b64u(options.headerBytes)
  else {
    const edited = options.header ? options.header(header) : header
    headerSegment = b64u(typeof edited === 'string' ? edited : JSON.stringify(edited))
  }

  const iv = options.iv ?? crypto.randomBytes(12)
  // Content encryption needs a 256-bit key whatever CEK was wrapped; pad or cut a test CEK to fit.
  const contentKey = Buffer.alloc(32)
  Buffer.from(cek).copy(contentKey)
  const gcm = crypto.createCipheriv('aes-256-gcm', contentKey, iv, { authTagLength: options.tagLength ?? 16 })
  gcm.setAAD(Buffer.from(headerSegment, 'latin1'))
  const ciphertext = Buffer.concat([gcm.update(options.plaintext ?? '{"sub":"crafted"}'), gcm.final()])
  const tag = gcm.getAuthTag()
  const token = [headerSegment, b64u(encryptedKey), b64u(iv), b64u(ciphertext), b64u(tag)].join('.')
  return { token, epk }
}

/** {@link encryptJweDetailed}, the token only. */
export function encryptJwe(recipient: RecipientJwk, options: JweOptions = {}): string {
  return encryptJweDetailed(recipient, options).token
}

/**
 * Encrypts `plaintext` to `recipient` under the exact protected header text `header(epk)` returns
 * (its base64url is the AAD), with keyhole's algorithms and an honest key agreement.
 */
export async function seal(
  recipient: RecipientJwk,
  header: (epk: Record<string, string>) => string,
  plaintext: string | Uint8Array,
): Promise<Sealed> {
  return encryptJweDetailed(recipient, { header: (h) => header(h.epk as Record<string, string>), plaintext })
}
