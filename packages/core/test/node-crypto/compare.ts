// Runs one token through jose and through the node:crypto decryptor and reports both verdicts,
// plus the documented reasons the fast path may refuse a token jose accepts.
import { compactDecrypt } from 'jose'
import { decryptCompact } from '../../src/node/crypto/decrypt-compact.js'
import type { KeyholePrivateJwk } from '../../src/types.js'

/** keyhole's jose options: its algorithm allow-lists, and no decompression (`zip` is an invalid token). */
export const JOSE_OPTIONS = {
  keyManagementAlgorithms: ['ECDH-ES+A256KW'],
  contentEncryptionAlgorithms: ['A256GCM'],
  maxDecompressedLength: 0,
}

export type Verdict =
  | { ok: true; plaintext: Uint8Array; header: unknown }
  | { ok: false; code?: string; message?: string }

export async function joseVerdict(token: string, key: object): Promise<Verdict> {
  try {
    const { plaintext, protectedHeader } = await compactDecrypt(token, key as never, JOSE_OPTIONS)
    return { ok: true, plaintext, header: protectedHeader }
  } catch (error) {
    return { ok: false, code: (error as { code?: string }).code }
  }
}

export function fastVerdict(token: string, key: KeyholePrivateJwk): Verdict {
  try {
    const { plaintext, protectedHeader } = decryptCompact(token, key)
    return { ok: true, plaintext, header: protectedHeader }
  } catch (error) {
    const e = error as { code?: string; message?: string }
    return { ok: false, code: e.code, message: e.message }
  }
}

const B64U = /^[A-Za-z0-9_-]*$/
const canonical = (s: string): boolean =>
  B64U.test(s) && s.length % 4 !== 1 && Buffer.from(s, 'base64url').toString('base64url') === s

/**
 * Why the fast path may refuse a token that jose accepts (README: "stricter than jose"). An empty
 * list means the fast path has no documented reason to refuse it.
 */
export function strictnessReasons(token: string): string[] {
  const reasons: string[] = []
  const segments = token.split('.')
  if (segments.some((s) => !canonical(s))) reasons.push('non-canonical base64url segment')
  let header: Record<string, unknown>
  try {
    header = JSON.parse(
      Buffer.from(segments[0]!.replace(/\s/g, ''), 'base64url')
        .toString('utf8')
        .replace(/^\ufeff/, ''),
    )
  } catch {
    return reasons
  }
  for (const name of ['apu', 'apv']) {
    const v = header[name]
    if (typeof v === 'string' && !canonical(v)) reasons.push(`non-canonical ${name}`)
  }
  const epk = header.epk as Record<string, unknown> | undefined
  if (epk && typeof epk === 'object') {
    if (Object.hasOwn(epk, 'key_ops') || Object.hasOwn(epk, 'ext')) reasons.push('epk key_ops/ext')
    if (epk.kty === 'OKP' && Object.hasOwn(epk, 'y')) reasons.push('OKP epk with y')
    for (const c of ['x', 'y']) {
      const v = epk[c]
      if (typeof v === 'string' && (!canonical(v) || Buffer.from(v, 'base64url').length !== 32)) {
        reasons.push(`epk ${c} not 32 canonical bytes`)
      }
    }
  }
  return reasons
}

/**
 * Asserts the contract between the two decryptors for one token and returns both verdicts:
 * whatever the fast path accepts, jose accepts with the same header and plaintext; whatever jose
 * accepts and the fast path refuses has a documented reason.
 */
export async function compareVerdicts(
  token: string,
  key: KeyholePrivateJwk,
): Promise<{ jose: Verdict; fast: Verdict; disagreement?: string[] }> {
  const jose = await joseVerdict(token, key)
  const fast = fastVerdict(token, key)
  if (fast.ok) {
    if (!jose.ok) throw new Error(`fast path accepted a token jose refuses (${jose.code}): ${token}`)
    if (Buffer.compare(Buffer.from(fast.plaintext), Buffer.from(jose.plaintext)) !== 0) {
      throw new Error(`plaintexts differ: ${token}`)
    }
    if (JSON.stringify(fast.header) !== JSON.stringify(jose.header))
      throw new Error(`headers differ: ${token}`)
    return { jose, fast }
  }
  if (fast.code !== 'invalid_token' || fast.message !== 'invalid token') {
    throw new Error(`fast path failed with ${fast.code}: ${fast.message}`)
  }
  if (jose.ok) {
    const reasons = strictnessReasons(token)
    if (reasons.length === 0)
      throw new Error(`jose accepted a token the fast path refuses for no documented reason: ${token}`)
    return { jose, fast, disagreement: reasons }
  }
  return { jose, fast }
}
