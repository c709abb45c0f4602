// Bench-only token factory: keyhole tokens (compact JWE, ECDH-ES+A256KW / A256GCM to a P-256 or
// X25519 key, the same protected header and claims as core's `mint`, the claims signed as a grant
// JWS by the issuer key — ES256 or EdDSA — as `mint(grant, { to, signWith })` does) made with
// node:crypto, because `mint` (jose, WebCrypto) costs 1–2 ms of CPU per token on this machine and
// rows 3, 4 and 6 need tens of thousands of distinct tokens. Every token has its own CEK, IV and
// jti and, by default, its own ephemeral key, so opening one costs the proxy exactly what opening
// a minted token costs (the decryptors do the full ECDH for every token whatever its epk).
// `ephemeralEvery: n` reuses one ephemeral key for n tokens in a row, which only makes minting
// cheaper (row 6 needs 100,000 tokens). bench/proxy.mjs opens a sample of them with core's
// default (jose) opener before using them.
import crypto from 'node:crypto'
import { keyPair } from '../lib/key-pair.mjs'

const b64u = (bytes) => Buffer.from(bytes).toString('base64url')
const u32 = (n) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}
const ALG = Buffer.from('ECDH-ES+A256KW')
// Concat KDF OtherInfo with empty apu/apv and a 256-bit key (RFC 7518 §4.6.2).
const OTHER_INFO = Buffer.concat([u32(ALG.length), ALG, u32(0), u32(0), u32(256)])
/** The AES key wrap's default IV (RFC 3394). */
export const WRAP_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex')
/** The Concat KDF of ECDH-ES+A256KW with empty apu/apv: the 256-bit KEK from the shared secret z. */
export const kdf = (z) => crypto.createHash('sha256').update(u32(1)).update(z).update(OTHER_INFO).digest()

/** A new ephemeral key for `recipient` (a public JWK): its `epk` header member and the KEK. */
function ephemeral(recipient) {
  if (recipient.crv === 'X25519') {
    const pair = keyPair('X25519')
    const z = crypto.diffieHellman({
      privateKey: pair.privateKey,
      publicKey: crypto.createPublicKey({
        key: { kty: 'OKP', crv: 'X25519', x: recipient.x },
        format: 'jwk',
      }),
    })
    return { epk: { kty: 'OKP', crv: 'X25519', x: pair.publicKey.export({ format: 'jwk' }).x }, kek: kdf(z) }
  }
  const ecdh = crypto.createECDH('prime256v1')
  const point = ecdh.generateKeys()
  const z = ecdh.computeSecret(
    Buffer.concat([
      Buffer.from([4]),
      Buffer.from(recipient.x, 'base64url'),
      Buffer.from(recipient.y, 'base64url'),
    ]),
  )
  const epk = { kty: 'EC', crv: 'P-256', x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33)) }
  return { epk, kek: kdf(z) }
}

/** A signer for the issuer's private JWK: ES256 as raw r‖s (what JWS uses) or EdDSA (Ed25519). */
function signerOf(issuer) {
  if (issuer?.alg !== 'ES256' && issuer?.alg !== 'EdDSA')
    throw new Error('makeTokens needs an ES256 or EdDSA issuer key to sign with')
  const { kty, crv, x, y, d } = issuer
  const key = crypto.createPrivateKey({ key: { kty, crv, x, ...(y && { y }), d }, format: 'jwk' })
  return issuer.alg === 'ES256'
    ? (data) => crypto.sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })
    : (data) => crypto.sign(null, data, key)
}

/**
 * Makes `count` tokens to the public JWK `publicJwk` (P-256 or X25519, with `kid`) for the grant
 * `{ hosts, inject }`, signed by `issuer` (an ES256 or EdDSA issuer private JWK, with `kid`),
 * valid for `ttlSeconds`.
 */
export function makeTokens(publicJwk, grant, count, { issuer, ttlSeconds = 3600, ephemeralEvery = 1 } = {}) {
  const sign = signerOf(issuer)
  const jwsHeader = b64u(JSON.stringify({ alg: issuer.alg, kid: issuer.kid, typ: 'keyhole-grant+jwt' }))
  const iat = Math.floor(Date.now() / 1000)
  const out = new Array(count)
  let current
  for (let i = 0; i < count; i++) {
    if (i % ephemeralEvery === 0) current = ephemeral(publicJwk)
    const cek = crypto.randomBytes(32)
    const wrap = crypto.createCipheriv('id-aes256-wrap', current.kek, WRAP_IV)
    const wrapped = Buffer.concat([wrap.update(cek), wrap.final()])
    const header = b64u(
      JSON.stringify({
        alg: 'ECDH-ES+A256KW',
        enc: 'A256GCM',
        kid: publicJwk.kid,
        typ: 'keyhole+jwt',
        cty: 'JWT',
        hosts: grant.hosts,
        epk: current.epk,
      }),
    )
    const claims = {
      jti: b64u(crypto.randomBytes(16)),
      iat,
      exp: iat + ttlSeconds,
      hosts: grant.hosts,
      inject: grant.inject,
    }
    const iv = crypto.randomBytes(12)
    const gcm = crypto.createCipheriv('aes-256-gcm', cek, iv)
    gcm.setAAD(Buffer.from(header, 'latin1'))
    const input = `${jwsHeader}.${b64u(JSON.stringify(claims))}`
    const signature = sign(Buffer.from(input))
    const ciphertext = Buffer.concat([gcm.update(`${input}.${b64u(signature)}`), gcm.final()])
    out[i] = `${header}.${b64u(wrapped)}.${b64u(iv)}.${b64u(ciphertext)}.${b64u(gcm.getAuthTag())}`
  }
  return out
}
