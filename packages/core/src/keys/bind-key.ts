import { calculateJwkThumbprint } from 'jose'
import { KeyholeError } from '../errors.js'

/**
 * The RFC 7638 thumbprint a token is bound to (`cnf.jkt`), from the PUBLIC JWK of the holder's
 * proof key: P-256 or Ed25519. A private key is refused (it would travel to the proxy for
 * nothing), and so is anything else. Throws `invalid_grant`, never quoting the key.
 *
 * @example
 * ```ts
 * const jkt = await bindingThumbprint(proofKey.publicJwk)
 * ```
 */
export async function bindingThumbprint(bindKey: unknown): Promise<string> {
  if (typeof bindKey !== 'object' || bindKey === null)
    throw new KeyholeError('invalid_grant', 'bindKey must be a public JWK')
  const jwk = bindKey as Record<string, unknown>
  // A private key would be carried, encrypted, to the proxy for nothing; refuse it outright.
  if ('d' in jwk)
    throw new KeyholeError('invalid_grant', 'bindKey must be a public key (it has a private "d" member)')
  const ec = jwk.kty === 'EC' && jwk.crv === 'P-256'
  const ed = jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
  if (!(ec || ed) || typeof jwk.x !== 'string' || (ec && typeof jwk.y !== 'string')) {
    throw new KeyholeError('invalid_grant', 'bindKey must be a P-256 or Ed25519 public JWK')
  }
  return calculateJwkThumbprint(
    ec
      ? { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string }
      : { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string },
    'sha256',
  )
}
