// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands
// keyhole inspect --keys on attenuated tokens: the outermost layer's claims, every layer's claims
// in `layers`, credential values masked, and the signature state of the grant at the centre.

import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keyPairWithoutJob } from '../../core/test/kit/keys.js'
import { buildCli, keyhole, tempDir } from './cli.js'

const SECRET = 'sk-inspect-layers-secret-c0ffee'
let dir: string
let remove: () => Promise<void>

async function mint(keys: string, env = { K: SECRET }) {
  const result = await keyhole(
    [
      'mint',
      '--keys',
      keys,
      '--host',
      'api.example.com',
      '--host',
      '*.example.org',
      '--header',
      'Authorization: Bearer ${K}',
      '--cookie',
      'session=${K}',
      '--ttl',
      '1h',
      '--sub',
      'parent',
    ],
    { cwd: dir, env },
  )
  expect(result.code).toBe(0)
  return result.stdout.trim()
}

async function attenuate(token: string, args: string[]) {
  const result = await keyhole(['attenuate', token, '--jwks', 'jwks.json', ...args], { cwd: dir })
  expect(result.code).toBe(0)
  return result.stdout.trim()
}

const inspect = (token: string, keys = 'keys.json') =>
  keyhole(['inspect', '-', '--keys', keys], { cwd: dir, input: token })

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })
  await keyhole(['keygen', '--out', 'other.json'], { cwd: dir })
  await writeFile(
    join(dir, 'jwks.json'),
    (await keyhole(['jwks', '--keys', 'keys.json'], { cwd: dir })).stdout,
  )
  const { publicKey } = keyPairWithoutJob('Ed25519')
  await writeFile(join(dir, 'agent.pub.json'), JSON.stringify(publicKey.export({ format: 'jwk' })))
}, 300_000)
afterAll(() => remove())

describe('keyhole inspect --keys, attenuated tokens', () => {
  it('shows the outermost claims, every layer outermost first, masked, and a trusted signature', async () => {
    const wide = await mint('keys.json')
    const middle = await attenuate(wide, ['--host', 'api.example.com', '--path', '/v1/**', '--sub', 'child'])
    const narrow = await attenuate(middle, ['--method', 'GET', '--ttl', '2m', '--bind-key', 'agent.pub.json'])
    const result = await inspect(narrow)
    expect(result.code).toBe(0)
    const out = JSON.parse(result.stdout)
    expect(out.header).toMatchObject({ cty: 'keyhole+att', hosts: ['api.example.com'] })
    expect(out.signature).toBe('trusted')
    expect(out.issuer).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(out.layers).toHaveLength(3)
    const [outer, mid, grant] = out.layers
    expect(out.claims).toEqual(outer)
    expect(outer).toMatchObject({ methods: ['GET'], cnf: { jkt: out.header.jkt } })
    expect(outer.exp - outer.iat).toBe(120)
    expect(outer.inject).toBeUndefined()
    expect(outer.inner).toBeUndefined()
    expect(mid).toMatchObject({ hosts: ['api.example.com'], paths: ['/v1/**'], sub: 'child' })
    expect(mid.inner).toBeUndefined()
    expect(grant).toMatchObject({ sub: 'parent', hosts: ['api.example.com', '*.example.org'] })
    expect(grant.inject).toEqual([
      { type: 'header', name: 'Authorization', value: '***' },
      { type: 'cookie', name: 'session', value: '***' },
    ])
    // each layer has its own id: the chain the proxy revokes by
    expect(new Set([outer.jti, mid.jti, grant.jti]).size).toBe(3)
    const output = result.stdout + result.stderr
    expect(output).not.toContain(SECRET)
    expect(output).not.toContain(SECRET.slice(3, 14))
    expect(output).not.toContain(middle)
    expect(output).not.toContain(wide)
  })

  it('lists one layer for a token that was never attenuated, equal to its claims', async () => {
    const result = await inspect(await mint('keys.json'))
    expect(result.code).toBe(0)
    const out = JSON.parse(result.stdout)
    expect(out.layers).toHaveLength(1)
    expect(out.layers[0]).toEqual(out.claims)
    expect(out.claims.inject[0].value).toBe('***')
  })

  it('says untrusted when another issuer signed the grant inside', async () => {
    // other.json's issuer signs; keys.json decrypts (minted to keys.json's JWKS)
    const foreign = await keyhole(
      [
        'mint',
        '--jwks',
        'jwks.json',
        '--issuer-key',
        'other.json',
        '--host',
        'api.example.com',
        '--header',
        'Authorization: Bearer ${K}',
        '--ttl',
        '1h',
      ],
      { cwd: dir, env: { K: SECRET } },
    )
    const narrow = await attenuate(foreign.stdout.trim(), ['--method', 'GET'])
    const result = await inspect(narrow)
    expect(result.code).toBe(1)
    const out = JSON.parse(result.stdout)
    expect(out).toMatchObject({ signature: 'untrusted' })
    // Which issuer signed it (what --trust-issuer needs) and what it asks for, masked.
    const other = JSON.parse(await readFile(join(dir, 'other.json'), 'utf8')) as {
      keys: { use: string; kid: string }[]
    }
    expect(out.issuer).toBe(other.keys.find((key) => key.use === 'sig')?.kid)
    expect(out.layers).toHaveLength(2)
    expect(out.claims.methods).toEqual(['GET'])
    expect(out.layers[1].hosts).toEqual(['api.example.com'])
    expect(out.layers[1].inject[0].value).toBe('***')
    expect(result.stdout + result.stderr).not.toContain(SECRET)
  })

  it('reports a layered token the proxy would refuse, without showing any layer', async () => {
    const narrow = await attenuate(await mint('keys.json'), ['--method', 'GET'])
    const result = await inspect(narrow, 'other.json')
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('invalid_token')
    expect(JSON.parse(result.stdout).layers).toBeUndefined()
  })
})
