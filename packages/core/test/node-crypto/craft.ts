// A deliberately permissive JWE encryptor for tests only: it produces tokens with well-formed
// cryptography around whatever header, sizes and key-derivation inputs a test asks for, so that
// the two decryptors can be compared on inputs jose's own encryptor would never produce.
import crypto from 'node:crypto'
import type { KeyCurve } from '../../src/types.js'

export const b64u = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url')

export interface TestKey {
  readonly curve: KeyCurve
  readonly privateJwk: {
    kty: 'EC' | 'OKP'
    crv: KeyCurve
    x: string
    y?: string
    d: string
    kid: string
    alg: 'ECDH-ES+A256KW'
    use: 'enc'
  }
  readonly publicJwk: {
    kty: 'EC' | 'OKP'
    crv: KeyCurve
    x: string
    y?: string
    kid: string
    alg: string
    use: string
  }
}

let counter = 0

/** A fresh key pair on `curve`, as keyhole JWKs (kid is a test label, not a thumbprint). */
export function testKey(curve: KeyCurve): TestKey {
  const pair =
    curve === 'X25519'
      ? crypto.generateKeyPairSync('x25519')
      : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = pair.privateKey.export({ format: 'jwk' }) as Record<string, string>
  const kid = `test-${curve}-${++counter}`
  const privateJwk = {
    kty: jwk.kty as 'EC' | 'OKP',
    crv: curve,
    x: jwk.x!,
    ...(jwk.y ? { y: jwk.y } : {}),
    d: jwk.d!,
    kid,
    alg: 'ECDH-ES+A256KW' as const,
    use: 'enc' as const,
  }
  const { d: _d, ...publicJwk } = privateJwk
  return { curve, privateJwk, publicJwk }
}

export interface CraftOptions {
  /** Edit the header object before it is serialized (the epk in it is the real one). */
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
  plaintext?: Uint8Array | string
}

const u32 = (n: number): Buffer => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(n)
  return out
}

function ephemeralPair(curve: 'P-256' | 'P-384' | 'X25519'): crypto.KeyPairKeyObjectResult {
  return curve === 'X25519'
    ? crypto.generateKeyPairSync('x25519')
    : crypto.generateKeyPairSync('ec', { namedCurve: curve })
}

/** Encrypts `plaintext` to `key` as an ECDH-ES+A256KW / A256GCM compact JWE, with the edits asked for. */
export function craft(key: TestKey, options: CraftOptions = {}): string {
  const ephemeral = ephemeralPair(options.ephemeralCurve ?? key.curve)
  const e = ephemeral.publicKey.export({ format: 'jwk' }) as Record<string, string>
  let z: Uint8Array
  if (options.z) z = options.z
  else {
    const recipient = crypto.createPublicKey({ key: key.publicJwk, format: 'jwk' })
    try {
      z = crypto.diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient })
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
  const kek = crypto.createHash('sha256').update(u32(1)).update(z).update(other).digest()
  const cek = options.cek ?? crypto.randomBytes(32)
  const wrap = crypto.createCipheriv('id-aes256-wrap', kek, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'))
  const encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()])

  const header: Record<string, unknown> = {
    alg: 'ECDH-ES+A256KW',
    enc: 'A256GCM',
    epk: { x: e.x, crv: e.crv, kty: e.kty, ...(e.y ? { y: e.y } : {}) },
  }
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
  return [headerSegment, b64u(encryptedKey), b64u(iv), b64u(ciphertext), b64u(tag)].join('.')
}
