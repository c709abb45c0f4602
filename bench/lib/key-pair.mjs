import crypto from 'node:crypto'

// PKCS#8 prefixes of a 32-byte OKP private key (RFC 8410).
const OKP_PKCS8 = {
  X25519: '302e020100300506032b656e04220420',
  Ed25519: '302e020100300506032b657004220420',
}

/**
 * A fresh key pair as node:crypto KeyObjects, made without a key-generation job.
 *
 * Why not `crypto.generateKeyPairSync`: on Node 20 a JWK export of a key fresh from that job can
 * deadlock with the garbage collector finalizing the job (a loop of it under `node --gc-global`
 * hangs within seconds; the test kit's `keyPairWithoutJob` has the story). A benchmark that hangs
 * reports nothing, so these scripts take their keys from here: OKP keys from 32 random bytes, P-256
 * from an ECDH object.
 *
 * @param {'P-256' | 'X25519' | 'Ed25519'} curve
 * @returns {{ privateKey: crypto.KeyObject, publicKey: crypto.KeyObject }}
 */
export function keyPair(curve) {
  let privateKey
  if (curve in OKP_PKCS8) {
    const der = Buffer.concat([Buffer.from(OKP_PKCS8[curve], 'hex'), crypto.randomBytes(32)])
    privateKey = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  } else if (curve === 'P-256') {
    const ecdh = crypto.createECDH('prime256v1')
    const point = ecdh.generateKeys()
    const d = ecdh.getPrivateKey()
    privateKey = crypto.createPrivateKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        // getPrivateKey() drops leading zero bytes; a JWK's d is always 32 bytes.
        d: Buffer.concat([Buffer.alloc(32 - d.length), d]).toString('base64url'),
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    })
  } else {
    throw new Error(`keyPair: unsupported curve ${curve}`)
  }
  return { privateKey, publicKey: crypto.createPublicKey(privateKey) }
}
