import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { trustIssuer } from './trust-issuer.js'

const refused = async (spec: string) => {
  try {
    await trustIssuer(spec, '/nonexistent')
  } catch (error) {
    return (error as Error).message
  }
  return undefined
}

describe('trustIssuer', () => {
  it('takes https URLs anywhere and plain http only to loopback, with an optional host scope', async () => {
    expect(await trustIssuer('https://issuer.example/jwks.json', '/')).toEqual({
      keys: 'https://issuer.example/jwks.json',
    })
    expect(await trustIssuer('http://127.0.0.1:9000/jwks.json=api.github.com', '/')).toEqual({
      keys: 'http://127.0.0.1:9000/jwks.json',
      hosts: ['api.github.com'],
    })
    expect(await trustIssuer('http://localhost/jwks', '/')).toEqual({ keys: 'http://localhost/jwks' })
  })

  it('refuses plain http to another host, other schemes and bad scopes, quoting nothing typed', async () => {
    expect(await refused('http://issuer.example/jwks.json')).toMatch(/must use https:/)
    expect(await refused('http://127.0.0.1.evil.example/jwks')).toMatch(/must use https:/)
    expect(await refused('ftp://issuer.example/jwks')).toMatch(/file or an http\(s\) URL/)
    const scope = await refused('issuer.json=not a pattern zq9')
    expect(scope).toMatch(/not a valid host pattern/)
    expect(scope).not.toContain('zq9')
  })

  it("refuses a proxy's own encryption JWKS given by mistake: it could never verify a grant", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyhole-trust-'))
    try {
      const enc = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k', alg: 'ECDH-ES+A256KW', use: 'enc' }
      await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [enc] }))
      await expect(trustIssuer('jwks.json', dir)).rejects.toThrow(
        /jwks\.json is an encryption key set .*keyhole jwks --keys <issuer keys\.json> --issuer/,
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
