// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  createKeyring,
  createOpener,
  type KeyholeIssuerPrivateJwk,
  type KeyholePrivateJwk,
  toPublicJwk,
} from '@keyhole/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, startUpstream, type Upstream } from '../../core/test/kit/index.js'
import { buildCli, keyhole, tempDir } from './cli.js'

const SECRET = 'ghp_cli-mint-test-secret-3b1f'
let dir: string
let remove: () => Promise<void>
let keys: KeyholePrivateJwk[]
let issuer: KeyholeIssuerPrivateJwk
let jwksServer: Upstream
let jwksUrl: string

// Opens signed tokens (from the key set's issuer) and, for the --jwks cases, unsigned ones.
const open = (token: string) =>
  createOpener({ keyring: createKeyring(keys), issuers: [toPublicJwk(issuer)], acceptUnsigned: true }).open(
    token,
  )

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })
  const jwks = await keyhole(['jwks', '--keys', 'keys.json'], { cwd: dir })
  await writeFile(join(dir, 'jwks.json'), jwks.stdout)
  const all = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')).keys
  keys = all.filter((key: { use: string }) => key.use === 'enc')
  issuer = all.find((key: { use: string }) => key.use === 'sig')
  jwksServer = await startUpstream({
    answer: (_req, res) => res.setHeader('content-type', 'application/json').end(jwks.stdout),
  })
  jwksUrl = `${jwksServer.origin}/.well-known/jwks.json`
}, 300_000)
afterAll(async () => {
  await jwksServer.close()
  await remove()
})

describe('keyhole mint', () => {
  it('mints a token from a JWKS file, expanding ${VAR} from its own environment', async () => {
    const result = await keyhole(
      [
        'mint',
        '--jwks',
        'jwks.json',
        '--host',
        'api.github.com',
        '--path',
        '/repos/acme/**',
        '--method',
        'get',
        '--header',
        'Authorization: Bearer ${GITHUB_TOKEN}',
        '--ttl',
        '1h',
        '--sub',
        'ci-job-42',
        '--aud',
        'proxy-a',
      ],
      { cwd: dir, env: { GITHUB_TOKEN: SECRET } },
    )
    expect(result.code).toBe(0)
    expect(result.stderr).not.toContain(SECRET)
    const token = result.stdout.trim()
    expect(token.split('.')).toHaveLength(5)
    const grant = await open(token)
    expect(grant.hosts).toEqual(['api.github.com'])
    expect(grant.paths).toEqual(['/repos/acme/**'])
    expect(grant.methods).toEqual(['GET'])
    expect(grant.sub).toBe('ci-job-42')
    expect(grant.aud).toBe('proxy-a')
    expect(grant.exp - grant.iat).toBe(3600)
    expect(grant.inject).toEqual([{ type: 'header', name: 'Authorization', value: `Bearer ${SECRET}` }])
  })

  it('injects query parameters and cookies, several hosts, and $${ as a literal', async () => {
    const result = await keyhole(
      [
        'mint',
        '--jwks',
        'jwks.json',
        '--host',
        'api.example.com',
        '--host',
        'http://127.0.0.1:8080',
        '--query',
        'api_key=${KEY}',
        '--cookie',
        'session=$${literal}',
        '--ttl',
        '90',
      ],
      { cwd: dir, env: { KEY: 'k-123' } },
    )
    expect(result.code).toBe(0)
    const grant = await open(result.stdout.trim())
    expect(grant.hosts).toEqual(['api.example.com', 'http://127.0.0.1:8080'])
    expect(grant.paths).toBeUndefined()
    expect(grant.methods).toBeUndefined()
    expect(grant.inject).toEqual([
      { type: 'query', name: 'api_key', value: 'k-123' },
      { type: 'cookie', name: 'session', value: '${literal}' },
    ])
    expect(grant.exp - grant.iat).toBe(90)
  })

  it('fetches the JWKS from a URL', async () => {
    const result = await keyhole(
      ['mint', '--jwks', jwksUrl, '--host', 'api.github.com', '--header', 'X-Api-Key: ${K}', '--ttl', '5m'],
      { env: { K: SECRET } },
    )
    expect(result.code).toBe(0)
    const grant = await open(result.stdout.trim())
    expect(grant.inject[0]?.value).toBe(SECRET)
  })

  it('explains an unreachable JWKS URL (exit 1)', async () => {
    const port = await closedPort()
    const result = await keyhole([
      'mint',
      '--jwks',
      `http://127.0.0.1:${port}/.well-known/jwks.json?access_token=abc`,
      '--host',
      'api.github.com',
      '--header',
      'X-Api-Key: v',
      '--ttl',
      '5m',
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`could not get the JWKS from http://127.0.0.1:${port}`)
    expect(result.stderr).toContain('ECONNREFUSED')
    expect(result.stderr).not.toContain('access_token')
    expect(result.stdout).toBe('')
    // Plain http to another machine: refused with what to do on the command line.
    const insecure = await keyhole([
      'mint',
      '--jwks',
      'http://10.255.255.1/jwks.json',
      '--host',
      'api.github.com',
      '--header',
      'X-Api-Key: v',
      '--ttl',
      '5m',
    ])
    expect(insecure.code).toBe(1)
    expect(insecure.stderr).toContain('use https: (plain http: only to 127.0.0.1, [::1] or localhost)')
    expect(insecure.stderr).not.toContain('allowInsecureHttp')
  })

  it('names an unset variable but never prints a value', async () => {
    const result = await keyhole(
      [
        'mint',
        '--jwks',
        'jwks.json',
        '--host',
        'a.example',
        '--header',
        'Authorization: ${MISSING} ${SET}',
        '--ttl',
        '1h',
      ],
      { cwd: dir, env: { SET: SECRET } },
    )
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('environment variable MISSING is not set')
    expect(result.stderr).not.toContain(SECRET)
    expect(result.stdout).toBe('')
  })

  it('does not echo a header value the shell split into stray arguments', async () => {
    const result = await keyhole(
      [
        'mint',
        '--jwks',
        'jwks.json',
        '--host',
        'a.example',
        '--header',
        'Authorization:',
        'Bearer',
        SECRET,
        '--ttl',
        '1h',
      ],
      { cwd: dir },
    )
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('2 unexpected arguments')
    expect(result.stderr).not.toContain(SECRET)
  })

  it('rejects a bad host pattern, a forbidden header and a CR/LF value with the policy message (exit 2)', async () => {
    const base = ['mint', '--jwks', 'jwks.json', '--ttl', '1h']
    const host = await keyhole([...base, '--host', 'ht!tp', '--header', 'X-Key: v'], { cwd: dir })
    expect(host.code).toBe(2)
    // Named by position: a pattern is echoed nowhere, since a secret may have been pasted there.
    expect(host.stderr).toContain('hosts[0] is not a valid host pattern')
    expect(host.stderr).not.toContain('ht!tp')
    const forbidden = await keyhole([...base, '--host', 'a.example', '--header', 'Host: evil.example'], {
      cwd: dir,
    })
    expect(forbidden.code).toBe(2)
    expect(forbidden.stderr).toContain('--header #1 name is a header keyhole may not inject')
    const crlf = await keyhole([...base, '--host', 'a.example', '--header', 'X-Key: ${V}'], {
      cwd: dir,
      env: { V: `${SECRET}\r\nX-Injected: 1` },
    })
    expect(crlf.code).toBe(2)
    expect(crlf.stderr).not.toContain(SECRET)
    const ttl = await keyhole(
      [...base.slice(0, 3), '--ttl', 'forever', '--host', 'a.example', '--header', 'X-Key: v'],
      {
        cwd: dir,
      },
    )
    expect(ttl.code).toBe(2)
    expect(ttl.stderr).toContain('--ttl is a duration')
    const long = await keyhole(
      [...base.slice(0, 3), '--ttl', '2d', '--host', 'a.example', '--header', 'X-Key: v'],
      {
        cwd: dir,
      },
    )
    expect(long.code).toBe(2)
    expect(long.stderr).toContain('--ttl must be at most 86400 seconds (24h)')
  })

  it('requires --jwks, --host, --ttl and a credential', async () => {
    const jwks = await keyhole(['mint', '--host', 'a.example', '--header', 'X: v', '--ttl', '1h'], {
      cwd: dir,
    })
    expect(jwks.code).toBe(2)
    expect(jwks.stderr).toContain('give either --keys keys.json')
    const host = await keyhole(['mint', '--jwks', 'jwks.json', '--header', 'X: v', '--ttl', '1h'], {
      cwd: dir,
    })
    expect(host.stderr).toContain('--host is required')
    const ttl = await keyhole(['mint', '--jwks', 'jwks.json', '--host', 'a.example', '--header', 'X: v'], {
      cwd: dir,
    })
    expect(ttl.stderr).toContain('--ttl is required')
    const inject = await keyhole(['mint', '--jwks', 'jwks.json', '--host', 'a.example', '--ttl', '1h'], {
      cwd: dir,
    })
    expect(inject.code).toBe(2)
    expect(inject.stderr).toContain('--header, --query, --cookie, --basic or --inject')
    const malformed = await keyhole(
      ['mint', '--jwks', 'jwks.json', '--host', 'a.example', '--query', 'novalue', '--ttl', '1h'],
      {
        cwd: dir,
      },
    )
    expect(malformed.code).toBe(2)
    expect(malformed.stderr).toContain('name=value')
  })

  it('refuses a private key file as --jwks and explains a missing one', async () => {
    const priv = await keyhole(
      ['mint', '--jwks', 'keys.json', '--host', 'a.example', '--header', 'X: v', '--ttl', '1h'],
      {
        cwd: dir,
      },
    )
    expect(priv.code).toBe(1)
    expect(priv.stderr).toContain('holds private keys')
    const missing = await keyhole(
      ['mint', '--jwks', 'nope.json', '--host', 'a.example', '--header', 'X: v', '--ttl', '1h'],
      {
        cwd: dir,
      },
    )
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('does not exist')
  })

  it('has --help', async () => {
    const result = await keyhole(['mint', '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Usage: keyhole mint (--keys keys.json | --jwks')
    expect(result.stdout).toContain('${VAR}')
    // Every example names a host serve accepts: a public HTTPS host, never a loopback address.
    const examples = result.stdout.slice(result.stdout.indexOf('Examples:'))
    expect(examples).toContain('--host api.github.com')
    expect(examples).not.toMatch(/--host\s+\S*(127\.0\.0\.1|localhost)/)
    expect(examples).not.toContain('http://')
  })

  it('signs with the key set’s newest issuer key with --keys', async () => {
    const result = await keyhole(
      ['mint', '--keys', 'keys.json', '--host', 'api.github.com', '--header', 'X-Key: ${K}', '--ttl', '5m'],
      { cwd: dir, env: { K: SECRET } },
    )
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const grant = await open(result.stdout.trim())
    expect(grant.issuerKid).toBe(issuer.kid)
    // A proxy that does not accept unsigned tokens opens it too.
    const strict = createOpener({ keyring: createKeyring(keys), issuers: [toPublicJwk(issuer)] })
    expect((await strict.open(result.stdout.trim())).issuerKid).toBe(issuer.kid)
  })

  it('signs with --issuer-key (a key set or one private JWK), and warns when --jwks mints unsigned', async () => {
    await writeFile(join(dir, 'one-issuer.json'), JSON.stringify(issuer))
    for (const file of ['keys.json', 'one-issuer.json']) {
      const signed = await keyhole(
        [
          'mint',
          '--jwks',
          'jwks.json',
          '--issuer-key',
          file,
          '--host',
          'api.github.com',
          '--header',
          'X: v',
          '--ttl',
          '5m',
        ],
        { cwd: dir },
      )
      expect(signed.stderr).toBe('')
      expect((await open(signed.stdout.trim())).issuerKid).toBe(issuer.kid)
    }
    const unsigned = await keyhole(
      ['mint', '--jwks', 'jwks.json', '--host', 'api.github.com', '--header', 'X: v', '--ttl', '5m'],
      { cwd: dir },
    )
    expect(unsigned.code).toBe(0)
    expect(unsigned.stderr).toContain('this token is unsigned')
    expect((await open(unsigned.stdout.trim())).issuerKid).toBeUndefined()
    const publicOnly = await keyhole(['jwks', '--keys', 'keys.json', '--issuer'], { cwd: dir })
    await writeFile(join(dir, 'issuer-public.json'), publicOnly.stdout)
    const refused = await keyhole(
      [
        'mint',
        '--jwks',
        'jwks.json',
        '--issuer-key',
        'issuer-public.json',
        '--host',
        'a.example.com',
        '--header',
        'X: v',
        '--ttl',
        '5m',
      ],
      { cwd: dir },
    )
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('only the public half')
  })

  it('refuses a key or a token pasted where a file path goes, without showing it', async () => {
    const pastedKey = JSON.stringify(issuer)
    const mintArgs = ['--host', 'api.github.com', '--header', 'X: v', '--ttl', '5m']
    const token = (await keyhole(['mint', '--keys', 'keys.json', ...mintArgs], { cwd: dir })).stdout.trim()
    for (const args of [
      ['mint', '--jwks', 'jwks.json', '--issuer-key', pastedKey, ...mintArgs],
      ['mint', '--keys', pastedKey, ...mintArgs],
      ['mint', '--keys', ` \n${pastedKey}`, ...mintArgs],
      ['inspect', token, '--keys', pastedKey],
      ['run', '--proxy', 'http://127.0.0.1:1', '--token', token, '--ca-cert', token, '--', 'true'],
    ]) {
      const result = await keyhole(args, { cwd: dir })
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr).toContain("looks like the file's content (not shown)")
      expect(result.stderr).not.toContain(issuer.d as string)
      expect(result.stderr).not.toContain(token)
    }
  })
})
