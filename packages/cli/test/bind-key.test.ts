// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands
// keyhole mint --bind-key: the token is bound to a proof key, and keyhole serve then wants a fresh
// Keyhole-Proof by that key on every request, each proof good once.

import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createProof, generateProofKey, type ProofKey } from '@keyhole/client'
import { createKeyring, createOpener, toPublicJwk } from '@keyhole/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../../core/test/kit/index.js'
import { keyPairWithoutJob } from '../../core/test/kit/keys.js'
import { buildCli, keyhole, type Served, serve, tempDir } from './cli.js'

const SECRET = 'sk-bind-key-test-secret-91c3'
let dir: string
let remove: () => Promise<void>
let upstream: Upstream
let served: Served
let proofKey: ProofKey

const header = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString('utf8'))

function mint(extra: string[]) {
  return keyhole(
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
      ...extra,
    ],
    { cwd: dir, env: { K: SECRET } },
  )
}

async function send(token: string, path: string, proof?: string) {
  return fetch(`${served.url}/http/${upstream.authority}${path}`, {
    headers: { 'x-keyhole-token': token, ...(proof !== undefined && { 'keyhole-proof': proof }) },
  })
}

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  upstream = await startUpstream()
  await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })
  proofKey = await generateProofKey()
  await writeFile(join(dir, 'agent.pub.json'), JSON.stringify(proofKey.publicJwk))
  served = await serve(['--keys', 'keys.json'], { cwd: dir })
}, 300_000)
afterAll(async () => {
  await served?.stop()
  await upstream?.close()
  await remove()
})

describe('keyhole mint --bind-key', () => {
  it('puts jkt in the public header and cnf.jkt in the signed grant', async () => {
    const result = await mint(['--bind-key', 'agent.pub.json'])
    expect(result.code).toBe(0)
    const token = result.stdout.trim()
    expect(header(token).jkt).toBe(proofKey.jkt)
    const all = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')).keys
    const opener = createOpener({
      keyring: createKeyring(all.filter((key: { use: string }) => key.use === 'enc')),
      issuers: [toPublicJwk(all.find((key: { use: string }) => key.use === 'sig'))],
    })
    expect((await opener.open(token)).cnf).toEqual({ jkt: proofKey.jkt })
  })

  it('makes keyhole serve want a fresh proof by that key, each good once', async () => {
    const token = (await mint(['--bind-key', 'agent.pub.json'])).stdout.trim()
    expect((await send(token, '/user')).status).toBe(401)
    const proof = await createProof(proofKey, { method: 'GET', url: `${upstream.origin}/user`, token })
    const ok = await send(token, '/user', proof)
    expect(ok.status).toBe(200)
    expect(upstream.received.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`)
    expect(upstream.received.at(-1)?.headers['keyhole-proof']).toBeUndefined()
    // the same proof again is a replay
    expect((await send(token, '/user', proof)).status).toBe(401)
    // a proof for another path does not carry over
    const elsewhere = await createProof(proofKey, { method: 'GET', url: `${upstream.origin}/other`, token })
    expect((await send(token, '/user', elsewhere)).status).toBe(401)
    // a proof by another key is refused
    const other = await generateProofKey()
    const stolen = await createProof(other, { method: 'GET', url: `${upstream.origin}/user`, token })
    expect((await send(token, '/user', stolen)).status).toBe(401)
  })

  it('refuses a private key, naming the file and never printing the key', async () => {
    const { privateKey } = keyPairWithoutJob('P-256')
    const jwk = privateKey.export({ format: 'jwk' })
    await writeFile(join(dir, 'agent.key.json'), JSON.stringify(jwk))
    const result = await mint(['--bind-key', 'agent.key.json'])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('bind key file agent.key.json holds a PRIVATE key')
    expect(result.stderr).not.toContain(jwk.d as string)
    expect(result.stderr).not.toContain(SECRET)
  })

  it('lists --bind-key in --help', async () => {
    const result = await keyhole(['mint', '--help'])
    expect(result.stdout).toContain('--bind-key <file>')
  })
})
