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

// PKCS#8 for an X25519 / Ed25519 private key: this DER header, then the 32 key bytes.
const OKP_PKCS8 = {
  X25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
  Ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
}
const EC_CURVES = { 'P-256': 'prime256v1', 'P-384': 'secp384r1' } as const

/**
 * A fresh key pair made without node:crypto's key-generation job (`generateKeyPairSync`): on
 * Node 20 a JWK export of a key fresh from that job can deadlock with the garbage collector
 * finalizing the job (this suite hung once in `ExportJWKEdKey` → `~KeyGenJob`; a loop of
 * `generateKeyPairSync('x25519')` + `export({ format: 'jwk' })` under `node --gc-global` hangs
 * within seconds). X25519 and Ed25519 from 32 random bytes; EC from an ECDH object, which is not
 * such a job.
 */
export function keyPairWithoutJob(
  curve: 'P-256' | 'P-384' | 'X25519' | 'Ed25519',
): crypto.KeyPairKeyObjectResult {
  let privateKey: crypto.KeyObject
  if (curve === 'X25519' || curve === 'Ed25519') {
    const der = Buffer.concat([OKP_PKCS8[curve], crypto.randomBytes(32)])
    privateKey = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  } else {
    const ecdh = crypto.createECDH(EC_CURVES[curve])
    ecdh.generateKeys()
    const point = ecdh.getPublicKey()
    const size = (point.length - 1) / 2
    const d = ecdh.getPrivateKey()
    privateKey = crypto.createPrivateKey({
      key: {
        kty: 'EC',
        crv: curve,
        // getPrivateKey() drops leading zero bytes; a JWK's d is the full field size.
        d: Buffer.concat([Buffer.alloc(size - d.length), d]).toString('base64url'),
        x: point.subarray(1, 1 + size).toString('base64url'),
        y: point.subarray(1 + size).toString('base64url'),
      },
      format: 'jwk',
    })
  }
  return { privateKey, publicKey: crypto.createPublicKey(privateKey) }
}

/** A fresh key pair on `curve`, made synchronously with node:crypto (kid is a label, not a thumbprint). */
export function testKey(curve: KeyCurve): TestKey {
  const pair = keyPairWithoutJob(curve)
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
