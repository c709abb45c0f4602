/** A token-shaped string whose protected header carries the given hosts hint (never decryptable). */
export function fakeToken(hosts: readonly string[], tag = 'x'): string {
  const header = { alg: 'ECDH-ES+A256KW', enc: 'A256GCM', typ: 'keyhole+jwt', kid: 'test-kid', hosts }
  const encoded = Buffer.from(JSON.stringify(header)).toString('base64url')
  return `${encoded}.enc-key-${tag}.iv-${tag}.ciphertext-${tag}.tag-${tag}`
}
