// The test kit's issuer: fixed keys (TEST ONLY — never trust them outside tests), so any suite can
// mint signed tokens and any opener can trust them without generating keys per file.
import { readFileSync } from 'node:fs'
import type { KeyholeIssuerPrivateJwk, KeyholeIssuerPublicJwk } from '../../src/types.js'

const file = JSON.parse(readFileSync(new URL('./issuer-keys.json', import.meta.url), 'utf8')) as {
  keys: KeyholeIssuerPrivateJwk[]
}

function publicHalf(key: KeyholeIssuerPrivateJwk): KeyholeIssuerPublicJwk {
  const { d: _d, ...pub } = key
  return Object.freeze(pub)
}

/** The test issuer's ES256 signing key: pass as `mint(grant, { to, signWith: testIssuer })`. */
export const testIssuer: KeyholeIssuerPrivateJwk = Object.freeze(file.keys[0]!)
/** A second test issuer, EdDSA. */
export const testEdIssuer: KeyholeIssuerPrivateJwk = Object.freeze(file.keys[1]!)
/** The public halves of both test issuers: pass as `createOpener({ keyring, issuers: testIssuers })`. */
export const testIssuers: readonly KeyholeIssuerPublicJwk[] = Object.freeze([
  publicHalf(testIssuer),
  publicHalf(testEdIssuer),
])
