// Row 3b of bench/proxy.mjs: the CPU cost of one uncached open against the raw node:crypto
// primitives it cannot avoid, per curve (P-256 with an ES256 issuer, X25519 with an EdDSA one), in
// the bench process, alternating batches and timing CPU (process.cpuUsage counts every thread, so
// work on the libuv pool is included).
import crypto from 'node:crypto'
import { createNodeOpener } from '@keyhole/core/node'
import { compactDecrypt, importJWK, jwtVerify } from 'jose'
import { keyPair } from '../lib/key-pair.mjs'
import { kdf, WRAP_IV } from './tokens.mjs'

/**
 * The primitives one open of `sample` (a token to `key`, signed by `issuer`) must run, on inputs
 * prepared here: ECDH with the recipient key, the KDF, the AES key unwrap, the AES-GCM decryption
 * of a plaintext of the same size, and the issuer's signature check on a signing input of the
 * same size. Returns a function that runs them once.
 */
function rawPrimitives(key, issuer, sample) {
  const { kty, crv, x, y, d } = key
  const recipient = crypto.createPrivateKey({ key: { kty, crv, x, ...(y && { y }), d }, format: 'jwk' })
  const eph = keyPair(crv === 'X25519' ? 'X25519' : 'P-256')
  const z = crypto.diffieHellman({ privateKey: eph.privateKey, publicKey: crypto.createPublicKey(recipient) })
  const cek = crypto.randomBytes(32)
  const wrap = crypto.createCipheriv('id-aes256-wrap', kdf(z), WRAP_IV)
  const wrapped = Buffer.concat([wrap.update(cek), wrap.final()])
  const iv = crypto.randomBytes(12)
  const [header, , , body] = sample.split('.')
  const aad = Buffer.from(header)
  const gcm = crypto.createCipheriv('aes-256-gcm', cek, iv).setAAD(aad)
  const plaintext = Buffer.alloc(Buffer.from(body, 'base64url').length, 'p')
  const ciphertext = Buffer.concat([gcm.update(plaintext), gcm.final()])
  const tag = gcm.getAuthTag()
  // The JWS signing input is the plaintext less its last segment (86 characters of signature).
  const signed = Buffer.alloc(plaintext.length - 87, 's')
  const signer = crypto.createPrivateKey({
    key: { kty: issuer.kty, crv: issuer.crv, x: issuer.x, ...(issuer.y && { y: issuer.y }), d: issuer.d },
    format: 'jwk',
  })
  const verifier = crypto.createPublicKey(signer)
  const es256 = issuer.alg === 'ES256'
  const signature = es256
    ? crypto.sign('sha256', signed, { key: signer, dsaEncoding: 'ieee-p1363' })
    : crypto.sign(null, signed, signer)
  const verifyKey = es256 ? { key: verifier, dsaEncoding: 'ieee-p1363' } : verifier
  return () => {
    const secret = crypto.diffieHellman({ privateKey: recipient, publicKey: eph.publicKey })
    const unwrap = crypto.createDecipheriv('id-aes256-wrap', kdf(secret), WRAP_IV)
    const contentKey = Buffer.concat([unwrap.update(wrapped), unwrap.final()])
    const decipher = crypto.createDecipheriv('aes-256-gcm', contentKey, iv).setAAD(aad).setAuthTag(tag)
    Buffer.concat([decipher.update(ciphertext), decipher.final()])
    if (!crypto.verify(es256 ? 'sha256' : null, signed, verifyKey, signature))
      throw new Error('raw verify failed')
  }
}

/**
 * Measures, per curve, the CPU of `createNodeOpener({ keyring, issuers, cacheSize: 0 }).open` on
 * fresh tokens, of the raw primitives, and (P-256 only) of jose `compactDecrypt` + `jwtVerify`.
 * `curves`: [{ name, key (private JWK), issuer (private issuer JWK), tokens }].
 * Returns { [name]: { raw: µs[], open: µs[], jose?: µs[] } }, one sample per round.
 */
export async function measureOpenCost({ keyring, issuers, curves, quick }) {
  const opener = createNodeOpener({ keyring, issuers, cacheSize: 0 })
  const cases = {}
  for (const { name, key, issuer, tokens } of curves) {
    let i = 0
    const raw = rawPrimitives(key, issuer, tokens[0])
    cases[name] = {
      raw: async () => raw(),
      open: async () => opener.open(tokens[i++ % tokens.length]),
    }
    if (key.crv === 'P-256') {
      const joseKey = await importJWK(key, 'ECDH-ES+A256KW')
      const { kty, crv, x, y } = issuer
      const joseIssuerKey = await importJWK({ kty, crv, x, y }, issuer.alg)
      const options = {
        keyManagementAlgorithms: ['ECDH-ES+A256KW'],
        contentEncryptionAlgorithms: ['A256GCM'],
      }
      // jose doing what the opener does: decrypt, then verify the issuer's signature on the grant.
      cases[name].jose = async () =>
        jwtVerify(
          (await compactDecrypt(tokens[i++ % tokens.length], joseKey, options)).plaintext,
          joseIssuerKey,
          {
            typ: 'keyhole-grant+jwt',
          },
        )
    }
  }
  // Many short rounds: on a shared machine most of them run undisturbed, so medians are stable.
  const BATCH = quick ? 20 : 50
  const ROUNDS = quick ? 5 : 41
  const cpuOf = async (fn) => {
    const before = process.cpuUsage()
    for (let n = 0; n < BATCH; n++) await fn()
    const used = process.cpuUsage(before)
    return (used.user + used.system) / BATCH
  }
  const samples = {}
  for (const [name, fns] of Object.entries(cases)) {
    samples[name] = Object.fromEntries(Object.keys(fns).map((k) => [k, []]))
    for (const fn of Object.values(fns)) await cpuOf(fn)
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fns] of Object.entries(cases)) {
      const order = Object.keys(fns)
      if (r % 2) order.reverse()
      for (const k of order) samples[name][k].push(await cpuOf(fns[k]))
    }
  }
  return { batch: BATCH, rounds: ROUNDS, samples }
}
