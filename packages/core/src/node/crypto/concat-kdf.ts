import { hash } from 'node:crypto'

function u32(value: number): Buffer {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(value)
  return out
}

function otherInfo(algorithmId: string, keyBits: number, apu: Uint8Array, apv: Uint8Array): Buffer {
  const alg = Buffer.from(algorithmId, 'ascii')
  return Buffer.concat([u32(alg.length), alg, u32(apu.length), apu, u32(apv.length), apv, u32(keyBits)])
}

const EMPTY = new Uint8Array(0)
// keyhole's own tokens carry no apu/apv, so their OtherInfo is the same for every token.
const DEFAULT_ALG = 'ECDH-ES+A256KW'
const DEFAULT_OTHER_INFO = otherInfo(DEFAULT_ALG, 256, EMPTY, EMPTY)

/** Inputs of the Concat KDF besides the shared secret. */
export interface ConcatKdfOptions {
  /** AlgorithmID: the `alg` value for key agreement with key wrapping. Default `'ECDH-ES+A256KW'`. */
  algorithmId?: string
  /** keydatalen in bits, a multiple of 8. Default `256`. */
  keyBits?: number
  /** PartyUInfo, the decoded `apu` header. Default: empty. */
  apu?: Uint8Array
  /** PartyVInfo, the decoded `apv` header. Default: empty. */
  apv?: Uint8Array
}

/**
 * The Concat KDF of NIST SP 800-56A with SHA-256, as JWA uses it for ECDH-ES (RFC 7518 §4.6.2):
 * `SHA-256(counter || Z || OtherInfo)` for as many rounds as the key needs.
 * The caller owns `z` and should zero it; the returned key is a fresh buffer the caller should zero too.
 *
 * @example
 * ```ts
 * const kek = concatKdf(sharedSecret)                              // ECDH-ES+A256KW, 32 bytes
 * const cek = concatKdf(z, { algorithmId: 'A128GCM', keyBits: 128, apu, apv })
 * ```
 */
export function concatKdf(z: Uint8Array, options: ConcatKdfOptions = {}): Buffer {
  const { algorithmId = DEFAULT_ALG, keyBits = 256, apu = EMPTY, apv = EMPTY } = options
  if (!Number.isSafeInteger(keyBits) || keyBits <= 0 || keyBits % 8 !== 0) {
    throw new RangeError('keyBits must be a positive multiple of 8')
  }
  const info =
    algorithmId === DEFAULT_ALG && keyBits === 256 && apu.length === 0 && apv.length === 0
      ? DEFAULT_OTHER_INFO
      : otherInfo(algorithmId, keyBits, apu, apv)
  const keyBytes = keyBits >> 3
  const rounds = Math.ceil(keyBytes / 32)
  const input = Buffer.allocUnsafe(4 + z.length + info.length)
  input.set(z, 4)
  input.set(info, 4 + z.length)
  let key: Buffer
  if (rounds === 1) {
    input.writeUInt32BE(1, 0)
    key = hash('sha256', input, 'buffer')
  } else {
    key = Buffer.allocUnsafeSlow(rounds * 32)
    for (let round = 1; round <= rounds; round++) {
      input.writeUInt32BE(round, 0)
      const digest = hash('sha256', input, 'buffer')
      key.set(digest, (round - 1) * 32)
      digest.fill(0)
    }
  }
  // The input holds Z; it may sit in Node's shared buffer pool, so only our bytes are cleared.
  input.fill(0)
  if (key.length === keyBytes) return key
  const cut = Buffer.from(key.subarray(0, keyBytes))
  key.fill(0)
  return cut
}
