import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, keyhole, tempDir } from './cli.js'

let dir: string
let remove: () => Promise<void>

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
}, 300_000)
afterAll(() => remove())

const readKeys = async (file: string) =>
  JSON.parse(await readFile(join(dir, file), 'utf8')) as { keys: Array<Record<string, string>> }

describe('keyhole keygen', () => {
  it('writes a P-256 decryption key and an ES256 issuer key with mode 0600 and prints their kids', async () => {
    const result = await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })
    expect(result.code).toBe(0)
    const { keys } = await readKeys('keys.json')
    expect(keys).toHaveLength(2)
    const [key, issuer] = keys as [Record<string, string>, Record<string, string>]
    expect(key).toMatchObject({ crv: 'P-256', use: 'enc' })
    expect(issuer).toMatchObject({ crv: 'P-256', use: 'sig', alg: 'ES256' })
    expect(key.d).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(result.stdout).toBe(`enc ${key.kid}\nsig ${issuer.kid}\n`)
    expect(result.stdout + result.stderr).not.toContain(key.d)
    expect(result.stdout + result.stderr).not.toContain(issuer.d)
    expect((await stat(join(dir, 'keys.json'))).mode & 0o777).toBe(0o600)
  })

  it('writes keys.json in the working directory by default', async () => {
    const { dir: own, remove: cleanup } = await tempDir()
    try {
      const result = await keyhole(['keygen'], { cwd: own })
      expect(result.code).toBe(0)
      const { keys } = JSON.parse(await readFile(join(own, 'keys.json'), 'utf8'))
      expect(`enc ${keys[0].kid}\nsig ${keys[1].kid}\n`).toBe(result.stdout)
    } finally {
      await cleanup()
    }
  })

  it('generates an X25519 key and an EdDSA issuer key with --curve X25519', async () => {
    const result = await keyhole(['keygen', '--curve', 'X25519', '--out', 'x.json'], { cwd: dir })
    expect(result.code).toBe(0)
    const { keys } = await readKeys('x.json')
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'X25519', use: 'enc' })
    expect(keys[1]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', use: 'sig', alg: 'EdDSA' })
  })

  it('refuses to overwrite an existing file without --force, and replaces it with --force', async () => {
    await keyhole(['keygen', '--out', 'k2.json'], { cwd: dir })
    const before = await readFile(join(dir, 'k2.json'), 'utf8')
    const refused = await keyhole(['keygen', '--out', 'k2.json'], { cwd: dir })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('already exists')
    expect(refused.stderr).toContain('--force')
    expect(await readFile(join(dir, 'k2.json'), 'utf8')).toBe(before)

    const forced = await keyhole(['keygen', '--out', 'k2.json', '--force'], { cwd: dir })
    expect(forced.code).toBe(0)
    const { keys } = await readKeys('k2.json')
    expect(keys).toHaveLength(2)
    expect(forced.stdout).toBe(`enc ${keys[0]?.kid}\nsig ${keys[1]?.kid}\n`)
    expect(JSON.stringify(keys)).not.toBe(JSON.parse(before).keys)
    expect((await stat(join(dir, 'k2.json'))).mode & 0o777).toBe(0o600)
  })

  it('tightens the mode of a replaced file that other users could read', async () => {
    await writeFile(join(dir, 'loose.json'), '{}', { mode: 0o644 })
    const forced = await keyhole(['keygen', '--out', 'loose.json', '--force'], { cwd: dir })
    expect(forced.code).toBe(0)
    expect((await stat(join(dir, 'loose.json'))).mode & 0o777).toBe(0o600)
  })

  it('adds a pair to an existing set with --add, newest last', async () => {
    const kids = (stdout: string) =>
      Object.fromEntries(
        stdout
          .trim()
          .split('\n')
          .map((l) => l.split(' ')),
      )
    const first = kids((await keyhole(['keygen', '--out', 'ring.json'], { cwd: dir })).stdout)
    const second = await keyhole(['keygen', '--out', 'ring.json', '--add', '--curve', 'X25519'], { cwd: dir })
    expect(second.code).toBe(0)
    const added = kids(second.stdout)
    const { keys } = await readKeys('ring.json')
    expect(keys.map((key) => key.kid)).toEqual([first.enc, added.enc, first.sig, added.sig])
  })

  it('brings a key set from before issuer keys up to date with --add', async () => {
    const old = await keyhole(['keygen', '--out', 'old.json'], { cwd: dir })
    const { keys } = await readKeys('old.json')
    await writeFile(join(dir, 'old.json'), JSON.stringify({ keys: [keys[0]] }), { mode: 0o600 })
    const noSigner = await keyhole(
      ['mint', '--keys', 'old.json', '--host', 'api.example.com', '--header', 'X-Key: v', '--ttl', '5m'],
      { cwd: dir },
    )
    expect(noSigner.code).toBe(1)
    expect(noSigner.stderr).toContain('run `keyhole keygen --add --out old.json`')
    const added = await keyhole(['keygen', '--out', 'old.json', '--add'], { cwd: dir })
    expect(added.code).toBe(0)
    const after = await readKeys('old.json')
    expect(after.keys.map((key) => key.use)).toEqual(['enc', 'enc', 'sig'])
    expect(after.keys[0]?.kid).toBe(old.stdout.split('\n')[0]?.slice(4))
  })

  it('rejects an unknown curve and conflicting flags with exit code 2', async () => {
    const curve = await keyhole(['keygen', '--curve', 'P-384', '--out', 'nope.json'], { cwd: dir })
    expect(curve.code).toBe(2)
    expect(curve.stderr).toContain('--curve must be P-256 or X25519')
    expect(curve.stderr).toContain('keyhole keygen --help')
    const both = await keyhole(['keygen', '--force', '--add'], { cwd: dir })
    expect(both.code).toBe(2)
  })

  it('explains a directory that does not exist', async () => {
    const result = await keyhole(['keygen', '--out', 'missing/dir/keys.json'], { cwd: dir })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('does not exist')
  })

  it('prints help with --help and exits 0', async () => {
    const result = await keyhole(['keygen', '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Usage: keyhole keygen')
    expect(result.stdout).toContain('--curve')
  })
})

describe('keyhole (no command)', () => {
  it('lists the commands on --help and exits 0', async () => {
    const result = await keyhole(['--help'])
    expect(result.code).toBe(0)
    for (const command of ['keygen', 'jwks', 'mint', 'inspect', 'revoke', 'serve'])
      expect(result.stdout).toContain(command)
  })

  it('shows usage and exits 2 without a command, and names an unknown one', async () => {
    const none = await keyhole([])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('Usage: keyhole <command>')
    const unknown = await keyhole(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("unknown command 'frobnicate'")
  })

  it('prints the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'))
    const result = await keyhole(['--version'])
    expect(result.stdout.trim()).toBe(pkg.version)
  })

  it('rejects unknown options with exit 2', async () => {
    const result = await keyhole(['jwks', '--kees', 'keys.json'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('unknown option --kees')
  })
})
