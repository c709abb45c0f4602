// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, keyhole, tempDir } from './cli.js'

const SECRET = 'sk-inspect-test-secret-77aa'
let dir: string
let remove: () => Promise<void>
let token: string

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })
  await keyhole(['keygen', '--out', 'other.json'], { cwd: dir })
  await writeFile(
    join(dir, 'jwks.json'),
    (await keyhole(['jwks', '--keys', 'keys.json'], { cwd: dir })).stdout,
  )
  const minted = await keyhole(
    [
      'mint',
      '--jwks',
      'jwks.json',
      '--host',
      'api.openai.com',
      '--method',
      'POST',
      '--header',
      'Authorization: Bearer ${OPENAI}',
      '--query',
      'k=${OPENAI}',
      '--ttl',
      '10m',
      '--sub',
      'agent-7',
    ],
    { cwd: dir, env: { OPENAI: SECRET } },
  )
  token = minted.stdout.trim()
}, 300_000)
afterAll(() => remove())

describe('keyhole inspect', () => {
  it('shows the public header without keys', async () => {
    const result = await keyhole(['inspect', token])
    expect(result.code).toBe(0)
    const { header, claims } = JSON.parse(result.stdout)
    expect(header).toMatchObject({
      alg: 'ECDH-ES+A256KW',
      enc: 'A256GCM',
      typ: 'keyhole+jwt',
      hosts: ['api.openai.com'],
    })
    expect(claims).toBeUndefined()
  })

  it('shows the claims with every credential value masked, given the keys', async () => {
    const result = await keyhole(['inspect', token, '--keys', 'keys.json'], { cwd: dir })
    expect(result.code).toBe(0)
    const { claims } = JSON.parse(result.stdout)
    expect(claims).toMatchObject({ sub: 'agent-7', hosts: ['api.openai.com'], methods: ['POST'] })
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(claims.exp - claims.iat).toBe(600)
    // Only signed claims: the decryption key and the signer are shown as header.kid and issuer.
    expect(claims).not.toHaveProperty('kid')
    expect(claims).not.toHaveProperty('issuerKid')
    expect(claims.inject).toEqual([
      { type: 'header', name: 'Authorization', value: '***' },
      { type: 'query', name: 'k', value: '***' },
    ])
    expect(result.stdout + result.stderr).not.toContain(SECRET)
    expect(result.stdout + result.stderr).not.toContain(SECRET.slice(3, 12))
  })

  it('reads the token from stdin with -', async () => {
    const result = await keyhole(['inspect', '-', '--keys', 'keys.json'], { cwd: dir, input: `${token}\n` })
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout).claims.sub).toBe('agent-7')
  })

  it('says the proxy would refuse a token for other keys, or a tampered one (exit 1)', async () => {
    const wrong = await keyhole(['inspect', token, '--keys', 'other.json'], { cwd: dir })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('the proxy would refuse this token')
    expect(wrong.stderr).toContain('invalid_token')
    const parts = token.split('.')
    parts[3] = `${parts[3]?.slice(0, -2)}AA`
    const tampered = await keyhole(['inspect', parts.join('.'), '--keys', 'keys.json'], { cwd: dir })
    expect(tampered.code).toBe(1)
    expect(tampered.stderr).toContain('invalid_token')
    expect(tampered.stdout + tampered.stderr).not.toContain(SECRET)
  })

  it('explains something that is not a token', async () => {
    const result = await keyhole(['inspect', 'hello.world'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('not a keyhole token')
    const missing = await keyhole(['inspect'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('missing <token>')
  })

  it('has --help', async () => {
    const result = await keyhole(['inspect', '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Usage: keyhole inspect')
  })
})
