// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands

import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../../core/test/kit/index.js'
import { keyPairWithoutJob } from '../../core/test/kit/keys.js'
import { buildCli, keyhole, type Served, serve, tempDir } from './cli.js'

const SECRET = 'sk-attenuate-test-secret-4d2e'
let dir: string
let remove: () => Promise<void>
let upstream: Upstream
let served: Served
let wide: string
let privateJwk: JsonWebKey

const header = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString('utf8'))

function writeKeyPair(name: string, type: 'ec' | 'ed25519') {
  const { publicKey, privateKey } = type === 'ec' ? keyPairWithoutJob('P-256') : keyPairWithoutJob('Ed25519')
  const pub = publicKey.export({ format: 'jwk' })
  const priv = privateKey.export({ format: 'jwk' })
  return Promise.all([
    writeFile(join(dir, `${name}.pub.json`), JSON.stringify(pub)),
    writeFile(join(dir, `${name}.private.json`), JSON.stringify(priv)),
  ]).then(() => priv)
}

async function attenuate(token: string, args: string[]) {
  return keyhole(['attenuate', token, '--jwks', 'jwks.json', ...args], { cwd: dir })
}

/** A request through the proxy's open mode towards the upstream, with the token. */
function through(token: string, path: string, method = 'GET') {
  return fetch(`${served.url}/http/${upstream.authority}${path}`, {
    method,
    headers: { 'x-keyhole-token': token },
  })
}

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  upstream = await startUpstream()
  await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })
  await writeFile(
    join(dir, 'jwks.json'),
    (await keyhole(['jwks', '--keys', 'keys.json'], { cwd: dir })).stdout,
  )
  privateJwk = await writeKeyPair('agent', 'ec')
  await writeKeyPair('thief', 'ed25519')
  const ok = await keyhole(
    [
      'mint',
      '--keys',
      'keys.json',
      '--host',
      upstream.origin,
      '--header',
      'Authorization: Bearer ${K}',
      '--ttl',
      '10m',
      '--sub',
      'parent',
    ],
    { cwd: dir, env: { K: SECRET } },
  )
  expect(ok.code).toBe(0)
  wide = ok.stdout.trim()
  served = await serve(['--keys', 'keys.json'], { cwd: dir })
}, 300_000)
afterAll(async () => {
  await served?.stop()
  await upstream?.close()
  await remove()
})

describe('keyhole attenuate', () => {
  it('narrows: the proxy refuses a wider path or method with the narrow token', async () => {
    const result = await attenuate(wide, ['--path', '/repos/acme/**', '--method', 'get', '--sub', 'child'])
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    const narrow = result.stdout.trim()
    expect(narrow.split('.')).toHaveLength(5)
    expect(narrow).not.toContain(wide)
    expect(header(narrow)).toMatchObject({ cty: 'keyhole+att', hosts: [upstream.origin] })

    // the wide token goes anywhere on its host
    expect((await through(wide, '/elsewhere')).status).toBe(200)
    expect((await through(wide, '/repos/acme/app', 'DELETE')).status).toBe(200)
    // the narrow one only where every layer allows
    const allowed = await through(narrow, '/repos/acme/app')
    expect(allowed.status).toBe(200)
    expect(await allowed.json()).toMatchObject({ url: '/repos/acme/app' })
    expect(upstream.received.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`)
    // The log line shows the holder's label and, beside it, the sub the issuer signed.
    await served.waitFor(/ 200 ok GET .*\/repos\/acme\/app .*sub=child signed-sub=parent /)
    expect((await through(narrow, '/elsewhere')).status).toBe(403)
    expect((await through(narrow, '/repos/other/app')).status).toBe(403)
    expect((await through(narrow, '/repos/acme/app', 'DELETE')).status).toBe(403)
  })

  it('narrows again: a second layer can only take away', async () => {
    const first = (await attenuate(wide, ['--path', '/repos/**'])).stdout.trim()
    const second = await attenuate(first, ['--path', '/repos/acme/**', '--ttl', '1m'])
    expect(second.code).toBe(0)
    const narrower = second.stdout.trim()
    expect((await through(narrower, '/repos/acme/x')).status).toBe(200)
    expect((await through(narrower, '/repos/other/x')).status).toBe(403)
    // Small tokens: no size warning.
    expect(second.stderr).toBe('')
  })

  it('warns when the narrowed token outgrows what a proxy accepts by default, and the proxy does refuse it', async () => {
    // A root grant of about 3 KiB: each layer wraps the whole inner token, so 3 layers pass 8 KiB.
    const big = await keyhole(
      [
        'mint',
        '--keys',
        'keys.json',
        '--host',
        upstream.origin,
        ...Array.from({ length: 6 }, (_, i) => ['--header', `X-Big-${i}: ${'v'.repeat(400)}`]).flat(),
        '--ttl',
        '10m',
      ],
      { cwd: dir },
    )
    expect(big.code).toBe(0)
    let token = big.stdout.trim()
    let last = { code: 0 as number | null, stderr: '' }
    for (let layer = 0; layer < 3 && token.length <= 8192; layer++) {
      const result = await attenuate(token, ['--path', '/x/**'])
      expect(result.code).toBe(0)
      token = result.stdout.trim()
      last = result
    }
    expect(token.length).toBeGreaterThan(8192)
    expect(last.stderr).toBe(
      `warning: the narrowed token is ${token.length} bytes; a proxy refuses tokens over 8192 bytes unless its maxTokenBytes is raised (fewer layers or a smaller grant keep it under)\n`,
    )
    expect((await through(token, '/x/y')).headers.get('x-keyhole-error')).toBe('invalid_token')
  })

  it('reads the token from stdin with -', async () => {
    const result = await keyhole(['attenuate', '-', '--jwks', 'jwks.json', '--method', 'GET'], {
      cwd: dir,
      input: `${wide}\n`,
    })
    expect(result.code).toBe(0)
    expect((await through(result.stdout.trim(), '/x')).status).toBe(200)
  })

  it('--bind-key binds the narrow token: jkt in its header, and the proxy then wants a proof', async () => {
    const result = await attenuate(wide, ['--bind-key', 'agent.pub.json'])
    expect(result.code).toBe(0)
    const bound = result.stdout.trim()
    expect(header(bound).jkt).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const refused = await through(bound, '/x')
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toContain('invalid_dpop_proof')
    // a bound token cannot be re-bound to someone else's key
    const rebind = await attenuate(bound, ['--bind-key', 'thief.pub.json'])
    expect(rebind.code).toBe(2)
    expect(rebind.stderr).toContain('already bound to another key')
    expect(rebind.stdout).toBe('')
  })

  it('--bind-key refuses a private key, naming the file and never printing the key', async () => {
    const result = await attenuate(wide, ['--bind-key', 'agent.private.json'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('agent.private.json')
    expect(result.stderr).toContain('PRIVATE key')
    expect(result.stdout).toBe('')
    const output = result.stdout + result.stderr
    expect(output).not.toContain(privateJwk.d as string)
    expect(output).not.toContain(privateJwk.x as string)
    expect(output).not.toContain(wide)
  })

  it('--bind-key refuses a key set, a missing file and a key of the wrong kind', async () => {
    const set = await attenuate(wide, ['--bind-key', 'jwks.json'])
    expect(set.code).toBe(2)
    expect(set.stderr).toContain('holds a key set')
    const missing = await attenuate(wide, ['--bind-key', 'nope.json'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('bind key file nope.json does not exist')
    await writeFile(join(dir, 'x25519.json'), JSON.stringify({ kty: 'OKP', crv: 'X25519', x: 'AAAA' }))
    const wrong = await attenuate(wide, ['--bind-key', 'x25519.json'])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain('P-256 or Ed25519')
  })

  it('errors name the flag and never print the token', async () => {
    const outside = await attenuate(wide, ['--host', 'api.github.com'])
    expect(outside.code).toBe(2)
    expect(outside.stderr).toContain("--host #1 is not inside the token's own hosts")
    const badPath = await attenuate(wide, ['--path', 'no-slash'])
    expect(badPath.code).toBe(2)
    expect(badPath.stderr).toContain('--path #1 is not a valid path pattern')
    const long = await attenuate(wide, ['--ttl', '30d'])
    expect(long.code).toBe(2)
    expect(long.stderr).toContain('--ttl')
    const notToken = await attenuate('not.a.token', [])
    expect(notToken.code).toBe(2)
    expect(notToken.stderr).toContain('not a keyhole token')
    const privateJwks = await keyhole(['attenuate', wide, '--jwks', 'keys.json'], { cwd: dir })
    expect(privateJwks.code).toBe(1)
    expect(privateJwks.stderr).toContain('attenuate needs only the public JWKS')
    const noJwks = await keyhole(['attenuate', wide], { cwd: dir })
    expect(noJwks.code).toBe(2)
    expect(noJwks.stderr).toContain('--jwks is required')
    for (const result of [outside, badPath, long, privateJwks, noJwks]) {
      expect(result.stdout).toBe('')
      expect(result.stderr).not.toContain(wide)
      expect(result.stderr).not.toContain(wide.slice(20, 60))
      expect(result.stderr).not.toContain(SECRET)
    }
  })

  it('--help lists every flag, and the dispatcher lists the command', async () => {
    const result = await keyhole(['attenuate', '--help'])
    expect(result.code).toBe(0)
    for (const flag of ['--jwks', '--host', '--path', '--method', '--ttl', '--sub', '--bind-key', '--help'])
      expect(result.stdout).toContain(flag)
    expect((await keyhole(['--help'])).stdout).toMatch(/^\s+attenuate\s/m)
  })
})
