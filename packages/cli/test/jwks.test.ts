import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, keyhole, tempDir } from './cli.js'

let dir: string
let remove: () => Promise<void>

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })
  await keyhole(['keygen', '--out', 'keys.json', '--add', '--curve', 'X25519'], { cwd: dir })
}, 300_000)
afterAll(() => remove())

describe('keyhole jwks', () => {
  it('prints the public keys, oldest first, without private members', async () => {
    const result = await keyhole(['jwks', '--keys', 'keys.json'], { cwd: dir })
    expect(result.code).toBe(0)
    const jwks = JSON.parse(result.stdout) as { keys: Array<Record<string, unknown>> }
    const { keys } = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')) as {
      keys: Array<Record<string, string>>
    }
    expect(jwks.keys.map((key) => key.kid)).toEqual(
      keys.filter((key) => key.use === 'enc').map((key) => key.kid),
    )
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d')
    for (const key of keys) expect(result.stdout).not.toContain(key.d)
  })

  it('prints the issuer public keys with --issuer', async () => {
    const result = await keyhole(['jwks', '--keys', 'keys.json', '--issuer'], { cwd: dir })
    expect(result.code).toBe(0)
    const jwks = JSON.parse(result.stdout) as { keys: Array<Record<string, unknown>> }
    const { keys } = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')) as {
      keys: Array<Record<string, string>>
    }
    const sig = keys.filter((key) => key.use === 'sig')
    // keys.json holds two pairs (P-256, then X25519 added): ES256 and EdDSA issuer keys, oldest first.
    expect(jwks.keys.map((key) => [key.kid, key.alg, key.use])).toEqual([
      [sig[0]?.kid, 'ES256', 'sig'],
      [sig[1]?.kid, 'EdDSA', 'sig'],
    ])
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d')
    for (const key of keys) expect(result.stdout).not.toContain(key.d)
  })

  it('says how to create a key file that is missing', async () => {
    const result = await keyhole(['jwks', '--keys', 'nope.json'], { cwd: dir })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('does not exist')
    expect(result.stderr).toContain('keyhole keygen --out')
  })

  it('reports bad JSON with a position but never the file contents', async () => {
    await writeFile(join(dir, 'broken.json'), '{"keys": [{"d": "SECRET-PRIVATE-MATERIAL" oops}]}')
    const result = await keyhole(['jwks', '--keys', 'broken.json'], { cwd: dir })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/is not valid JSON \(at line 1, column \d+\)/)
    expect(result.stderr).not.toContain('SECRET-PRIVATE-MATERIAL')
  })

  it('refuses a file that holds only public keys', async () => {
    const pub = await keyhole(['jwks', '--keys', 'keys.json'], { cwd: dir })
    await writeFile(join(dir, 'public.json'), pub.stdout)
    const result = await keyhole(['jwks', '--keys', 'public.json'], { cwd: dir })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('public keys only')
  })

  it('refuses a key whose kid is not its thumbprint', async () => {
    const { keys } = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8'))
    await writeFile(
      join(dir, 'tampered.json'),
      JSON.stringify({ keys: [{ ...keys[0], kid: 'not-the-thumbprint' }] }),
    )
    const result = await keyhole(['jwks', '--keys', 'tampered.json'], { cwd: dir })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('tampered.json')
    expect(result.stderr).not.toContain(keys[0].d)
  })

  it('warns when other users can read the key file', async () => {
    await writeFile(join(dir, 'open.json'), await readFile(join(dir, 'keys.json')))
    await chmod(join(dir, 'open.json'), 0o644)
    const result = await keyhole(['jwks', '--keys', 'open.json'], { cwd: dir })
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('chmod 600')
  })

  it('requires --keys (exit 2) and has --help', async () => {
    const missing = await keyhole(['jwks'], { cwd: dir })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--keys is required')
    const help = await keyhole(['jwks', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: keyhole jwks --keys keys.json')
  })
})
