import { exportJWK, importPKCS8, importSPKI } from 'jose'
import { KeyholeError } from '../errors.js'
import type { KeyholePrivateJwk, KeyholePublicJwk } from '../types.js'
import { type BareJwk, bareJwk, KEY_ALG, privateJwk, publicJwk, verifiedKid } from './jwk.js'

/** Options of {@link importKey}. */
export interface ImportKeyOptions {
  /**
   * What the caller needs back. `'private'` throws `invalid_key` for a public key; `'public'`
   * returns the public half of either; `'any'` (default) returns whatever was given.
   */
  expect?: 'private' | 'public' | 'any'
}

/** What {@link importKey} accepts: a JWK object, a JWK as JSON text, or a PEM string. */
export type KeyInput = string | Record<string, unknown> | KeyholePrivateJwk | KeyholePublicJwk

// Parsing errors are rethrown without their cause: a JSON.parse message quotes the input, and
// the input may be a private key.
function invalid(message: string): KeyholeError {
  return new KeyholeError('invalid_key', message)
}

async function fromPem(pem: string): Promise<BareJwk> {
  const label = /^-----BEGIN ([A-Z ]+)-----/.exec(pem)?.[1]
  try {
    if (label === 'PRIVATE KEY')
      return bareJwk(await exportJWK(await importPKCS8(pem, KEY_ALG, { extractable: true })))
    if (label === 'PUBLIC KEY')
      return bareJwk(await exportJWK(await importSPKI(pem, KEY_ALG, { extractable: true })))
  } catch (err) {
    if (err instanceof KeyholeError) throw err
    throw invalid('the PEM is not a P-256 or X25519 key')
  }
  if (label === 'EC PRIVATE KEY') {
    throw invalid(
      'SEC1 "EC PRIVATE KEY" PEMs are not supported; convert with `openssl pkcs8 -topk8 -nocrypt`',
    )
  }
  throw invalid('a PEM key must be PKCS#8 ("PRIVATE KEY") or SPKI ("PUBLIC KEY")')
}

/**
 * Imports a keyhole key from a JWK (object or JSON text) or a PEM (PKCS#8 private key or SPKI
 * public key; P-256 and X25519) and returns it as a frozen keyhole JWK with its `kid` set to the
 * RFC 7638 thumbprint. A JWK whose `kid` is not its thumbprint is refused (`invalid_key`): keyhole
 * finds keys by thumbprint, so such a key could never open its tokens.
 *
 * @example
 * ```ts
 * const key = await importKey(readFileSync('proxy-key.pem', 'utf8'), { expect: 'private' })
 * const keyring = createKeyring([key])
 * const recipient = await importKey(jwkJson, { expect: 'public' })
 * ```
 */
export function importKey(input: KeyInput, options: { expect: 'private' }): Promise<KeyholePrivateJwk>
export function importKey(input: KeyInput, options: { expect: 'public' }): Promise<KeyholePublicJwk>
export function importKey(
  input: KeyInput,
  options?: ImportKeyOptions,
): Promise<KeyholePrivateJwk | KeyholePublicJwk>
export async function importKey(
  input: KeyInput,
  options: ImportKeyOptions = {},
): Promise<KeyholePrivateJwk | KeyholePublicJwk> {
  const expect = options.expect ?? 'any'
  let bare: BareJwk
  if (typeof input === 'string') {
    const text = input.trim()
    if (text.startsWith('-----BEGIN')) bare = await fromPem(text)
    else {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        throw invalid('a key must be a JWK (object or JSON) or a PEM string')
      }
      bare = bareJwk(parsed)
    }
  } else bare = bareJwk(input)

  const kid = await verifiedKid(bare)
  if (expect === 'public') return publicJwk(bare, kid)
  if (bare.d !== undefined) return privateJwk(bare as BareJwk & { d: string }, kid)
  if (expect === 'private') throw invalid('a private key was expected, this is a public key')
  return publicJwk(bare, kid)
}
