// Key fixtures for tests: fresh proxy keys and keyrings, and tokens minted to them by the test
// issuer, so no suite hand-rolls its own generateKey/createKeyring/mint setup.
import crypto from 'node:crypto'
import { generateKey } from '../../src/keys/generate-key.js'
import { createKeyring, type Keyring } from '../../src/keys/keyring.js'
import { type MintGrant, type MintOptions, mint } from '../../src/mint.js'
import type { KeyCurve, KeyholePrivateJwk } from '../../src/types.js'
import { testIssuer } from './issuer.js'

/** A proxy key, the keyring holding it, and a key of the same curve the proxy does NOT hold. */
export interface TestKeys {
  key: KeyholePrivateJwk
  keyring: Keyring
  /** A key the proxy does not hold (tokens encrypted to it must be refused). */
  foreign: KeyholePrivateJwk
}

/** Fresh keys for one suite (generated, so no two suites share a proxy key). */
export async function makeKeys(curve: KeyCurve = 'P-256'): Promise<TestKeys> {
  const key = await generateKey({ curve })
  const foreign = await generateKey({ curve })
  return { key, keyring: createKeyring([key]), foreign }
}

/** A grant for {@link mintToken}: `ttl` defaults to one hour. */
export type TestGrant = Omit<MintGrant, 'ttl'> & { ttl?: MintGrant['ttl'] }

/**
 * Mints `grant` to `to` (a keyring, a public JWK or a JWKS), signed by the test issuer — a token
 * every opener built with `issuers: testIssuers` accepts.
 */
export function mintToken(
  to: Keyring | MintOptions['to'],
  grant: TestGrant,
  options: Omit<MintOptions, 'to'> = {},
): Promise<string> {
  const recipient = typeof to === 'object' && 'publicJwks' in to ? to.publicJwks() : to
  return mint({ ttl: '1h', ...grant }, { signWith: testIssuer, ...options, to: recipient })
}

/** A key pair as the low-level crypto tests use it: keyhole JWKs whose kid is a test label. */
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

/** A fresh key pair on `curve`, made synchronously with node:crypto (kid is a label, not a thumbprint). */
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
