import { KeyholeError } from '../../errors.js'
import type { KeyholePrivateJwk } from '../../types.js'
import { aesGcmDecrypt } from './aes-gcm.js'
import { aesKeyUnwrap } from './aes-kw.js'
import { decodeAlphabetB64u, decodeB64u, isB64uAlphabet } from './b64u.js'
import { concatKdf } from './concat-kdf.js'
import { keyAgreementFor, type PreparedKey } from './prepare-key.js'

/** The protected header of a token {@link decryptCompact} opened; `alg`, `enc` and `epk` are checked. */
export interface CompactProtectedHeader {
  readonly alg: 'ECDH-ES+A256KW'
  readonly enc: 'A256GCM'
  readonly epk: Readonly<Record<string, unknown>>
  readonly [parameter: string]: unknown
}

/** What {@link decryptCompact} returns. */
export interface DecryptedCompact {
  readonly protectedHeader: CompactProtectedHeader
  /** The authenticated plaintext, in a buffer of its own that the caller should zero once parsed. */
  readonly plaintext: Uint8Array
}

/** A private key, or a function that picks one from the (not yet authenticated) protected header. */
export type DecryptionKey =
  | KeyholePrivateJwk
  | PreparedKey
  | ((protectedHeader: CompactProtectedHeader) => KeyholePrivateJwk | PreparedKey | undefined)

const ALG = 'ECDH-ES+A256KW'
const ENC = 'A256GCM'
// Members a public epk must not carry: jose's list of private JWK members, plus the two that
// WebCrypto would interpret on import (jose lets some values of these through; nothing needs them).
const REFUSED_EPK_MEMBERS = ['d', 'k', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'priv', 'key_ops', 'ext']
// Fatal: invalid UTF-8 is an invalid header. Like jose's decoder it drops a leading BOM.
const utf8 = new TextDecoder('utf-8', { fatal: true })

function invalidToken(): KeyholeError {
  // Deliberately no detail and no cause: nothing about the token may reach a log line.
  return new KeyholeError('invalid_token', 'invalid token')
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function partyInfo(value: unknown): Buffer | undefined {
  if (typeof value !== 'string') throw invalidToken()
  const bytes = decodeB64u(value)
  if (!bytes) throw invalidToken()
  return bytes
}

/**
 * Opens a keyhole token — a compact JWE with `alg` `ECDH-ES+A256KW` and `enc` `A256GCM`, to a
 * P-256 or X25519 key — synchronously with node:crypto, in one pass and without WebCrypto's promise
 * round trips. Accepts only what `jose`'s `compactDecrypt` accepts with keyhole's algorithm
 * allow-lists and `zip` refused, and is stricter where that is safer: base64url must be canonical
 * and unpadded, an `epk` must not carry `key_ops`/`ext` and must have 32-byte coordinates.
 *
 * Everything else about the header (`kid`, `typ`, the `hosts` hint) is the caller's to check.
 * Every refusal throws `KeyholeError('invalid_token', 'invalid token')` with no further detail;
 * a key that cannot be used throws `KeyholeError('invalid_key')`.
 *
 * @example
 * ```ts
 * import { decryptCompact, prepareKey } from '@keyhole/core/node'
 *
 * const prepared = new Map(keys.map((k) => [k.kid, prepareKey(k)]))
 * const { protectedHeader, plaintext } = decryptCompact(token, (header) => prepared.get(String(header.kid)))
 * const claims = JSON.parse(new TextDecoder().decode(plaintext))
 * plaintext.fill(0)
 * ```
 */
export function decryptCompact(token: string, key: DecryptionKey): DecryptedCompact {
  if (typeof token !== 'string') throw invalidToken()
  const d1 = token.indexOf('.')
  // Everything that costs nothing is checked before the one expensive step, the ECDH.
  const headerBytes = d1 < 0 ? undefined : decodeB64u(token.slice(0, d1))
  if (!headerBytes) throw invalidToken()
  let header: unknown
  try {
    header = JSON.parse(utf8.decode(headerBytes))
  } catch {
    throw invalidToken()
  }
  return decryptParsed(token, header, key)
}

/**
 * {@link decryptCompact} for a caller that has already parsed the protected header: `header` must
 * be `JSON.parse` of the UTF-8 of the token's first segment (the opener's `checkHeader` result,
 * see `nodeDecrypt`). Every check on the header's contents still runs here; only the decoding and
 * parsing are skipped. The AAD is always the segment as sent, so a header that did not come from
 * this token fails authentication rather than being trusted. `alphabetChecked` says every segment
 * is already known to use only the base64url alphabet (true of a `CheckedHeader`'s token), so the
 * segments are not scanned for it again; their canonical form is still checked.
 *
 * @internal
 * @example
 * ```ts
 * const { plaintext } = decryptParsed(token, checked.header, privateJwk)
 * ```
 */
export function decryptParsed(
  token: string,
  header: unknown,
  key: DecryptionKey,
  alphabetChecked = false,
): DecryptedCompact {
  const d1 = token.indexOf('.')
  const d2 = token.indexOf('.', d1 + 1)
  const d3 = token.indexOf('.', d2 + 1)
  const d4 = token.indexOf('.', d3 + 1)
  if (d1 < 0 || d2 < 0 || d3 < 0 || d4 < 0 || token.indexOf('.', d4 + 1) !== -1) throw invalidToken()
  // Cheap, and it keeps the AAD below exact whoever parsed the header: latin1 is lossless only
  // for ASCII.
  const headerSegment = token.slice(0, d1)
  if (!alphabetChecked && !isB64uAlphabet(headerSegment)) throw invalidToken()
  if (!isPlainObject(header)) throw invalidToken()
  // No extension is understood, so any `crit` is refused; compression is never used by keyhole.
  if (header.alg !== ALG || header.enc !== ENC || header.crit !== undefined || header.zip !== undefined) {
    throw invalidToken()
  }
  const epk = header.epk
  if (!isPlainObject(epk)) throw invalidToken()
  for (const member of REFUSED_EPK_MEMBERS) if (Object.hasOwn(epk, member)) throw invalidToken()
  const apu = header.apu === undefined ? undefined : partyInfo(header.apu)
  const apv = header.apv === undefined ? undefined : partyInfo(header.apv)
  // jose refuses identical PartyUInfo and PartyVInfo; so do we, to accept exactly the same tokens.
  if (apu && apv && apu.equals(apv)) throw invalidToken()

  // A 256-bit CEK wrapped with RFC 3394 is always 40 bytes.
  const decode = alphabetChecked ? decodeAlphabetB64u : decodeB64u
  const encryptedKey = decode(token.slice(d1 + 1, d2))
  const iv = decode(token.slice(d2 + 1, d3))
  const ciphertext = decode(token.slice(d3 + 1, d4))
  const tag = decode(token.slice(d4 + 1))
  if (encryptedKey?.length !== 40 || iv?.length !== 12 || !ciphertext || tag?.length !== 16) {
    throw invalidToken()
  }

  const protectedHeader = header as unknown as CompactProtectedHeader
  const chosen = typeof key === 'function' ? key(protectedHeader) : key
  if (chosen === undefined || chosen === null) throw invalidToken()
  const z = keyAgreementFor(chosen)(epk)
  if (!z) throw invalidToken()
  const kek = concatKdf(z, { apu, apv })
  z.fill(0)
  const cek = aesKeyUnwrap(kek, encryptedKey)
  kek.fill(0)
  if (!cek) throw invalidToken()
  // The AAD is the header segment exactly as sent (RFC 7516 §5.2 step 14); it is ASCII by now.
  const plaintext = aesGcmDecrypt(cek, iv, ciphertext, tag, Buffer.from(headerSegment, 'latin1'))
  cek.fill(0)
  if (!plaintext) throw invalidToken()
  return { protectedHeader, plaintext }
}
