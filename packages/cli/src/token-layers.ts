import { ATTENUATION_CTY, type Keyring } from '@keyhole/core'
import { nodeDecrypt } from '@keyhole/core/node'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { CliError } from './cli-error.js'
import { readProtectedHeader } from './read-header.js'

/** Most layers a token may have in all, the signed grant included (as the opener enforces). */
const MAX_LAYERS = 4

/** A token's attenuation layers, peeled off. */
export interface PeeledToken {
  /** Each attenuation layer's own claims, outermost first, without the wrapped token (`inner`). */
  readonly layers: readonly Record<string, unknown>[]
  /** The token at the centre: the grant the layers narrow. The token itself when it has no layers. */
  readonly innermost: string
}

/**
 * Decrypts a token's attenuation layers one by one with the keyring and returns each layer's
 * claims and the innermost token. Meant for a token the opener has already accepted: it shows
 * what each layer says and checks nothing (the opener did). Layers carry no credentials; the
 * innermost token, which does, is left for the opener to open.
 *
 * @example
 * ```ts
 * await opener.open(token) // every check, first
 * const { layers, innermost } = peelLayers(token, keyring)
 * const grant = await opener.open(innermost)
 * ```
 */
export function peelLayers(token: string, keyring: Keyring): PeeledToken {
  const layers: Record<string, unknown>[] = []
  let current = token
  while (readProtectedHeader(current).cty === ATTENUATION_CTY) {
    if (layers.length >= MAX_LAYERS - 1) throw unreadable()
    const text = decryptText(current, keyring)
    let claims: Record<string, unknown>
    try {
      claims = JSON.parse(text ?? '') as Record<string, unknown>
    } catch {
      throw unreadable()
    }
    const { inner, ...own } = claims
    if (typeof inner !== 'string') throw unreadable()
    layers.push(own)
    current = inner
  }
  return { layers, innermost: current }
}

// The plaintext of one layer, decrypted with the keyring's key for its kid; the decrypted bytes
// are zeroed once decoded. Undefined when no key fits or the layer does not decrypt to UTF-8.
function decryptText(token: string, keyring: Keyring): string | undefined {
  const key = keyring.get(String(readProtectedHeader(token).kid))
  if (key === undefined) return undefined
  let plaintext: Uint8Array
  try {
    plaintext = nodeDecrypt(token, key)
  } catch {
    return undefined
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plaintext)
  } catch {
    return undefined
  } finally {
    plaintext.fill(0)
  }
}

// Not expected after the opener accepted the token; said plainly if it happens anyway.
function unreadable(): CliError {
  return new CliError('the token opened, but its attenuation layers could not be read one by one')
}

/** What an untrusted grant says about itself: read, not verified. */
export interface UnverifiedGrant {
  /** The `kid` in the grant's JWS header: the issuer key that signed it. */
  readonly issuer: string | undefined
  readonly claims: Record<string, unknown>
}

/**
 * Decrypts a signed grant with the keyring and reads its JWS header's `kid` and its claims
 * without verifying the signature: what `inspect` shows for a grant whose issuer the key set
 * does not trust, so the operator can see which issuer signed it and what it asks for. Returns
 * `undefined` when the token is not readable that way. Never use the result to authorize.
 *
 * @example
 * ```ts
 * const read = readUnverifiedGrant(innermost, keyring) // { issuer: 'kid…', claims: { hosts, … } }
 * ```
 */
export function readUnverifiedGrant(token: string, keyring: Keyring): UnverifiedGrant | undefined {
  const jws = decryptText(token, keyring)
  if (jws === undefined) return undefined
  try {
    // jose's decoders read without verifying; decodeJwt refuses a payload that is not an object.
    const { kid } = decodeProtectedHeader(jws)
    return { issuer: typeof kid === 'string' ? kid : undefined, claims: decodeJwt(jws) }
  } catch {
    return undefined
  }
}
