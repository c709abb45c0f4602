// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands
// keyhole serve --store-env: the ids of used proofs are claimed in the shared store, so a proof
// accepted by one replica is refused by another on the same store. Real Redis and Postgres.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createProof, generateProofKey, type ProofKey } from '@keyhole/client'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../../core/test/kit/index.js'
import { buildCli, keyhole, type Served, serve, tempDir } from './cli.js'

const STORES = {
  redis: 'redis://127.0.0.1:6379',
  postgres: 'postgres://postgres@127.0.0.1:5432/test',
} as const
let dir: string
let remove: () => Promise<void>
let upstream: Upstream
let proofKey: ProofKey
const running: Served[] = []

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  upstream = await startUpstream()
  await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })
  proofKey = await generateProofKey({ alg: 'EdDSA' })
  await writeFile(join(dir, 'agent.pub.json'), JSON.stringify(proofKey.publicJwk))
}, 300_000)
afterEach(async () => {
  await Promise.all(running.splice(0).map((served) => served.stop()))
})
afterAll(async () => {
  await upstream.close()
  await remove()
})

async function replica(store?: string): Promise<Served> {
  const served = await serve(['--keys', 'keys.json', ...(store ? ['--store-env', 'STORE'] : [])], {
    cwd: dir,
    env: store ? { STORE: store } : {},
  })
  running.push(served)
  return served
}

async function boundToken(): Promise<string> {
  const result = await keyhole(
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
      '--bind-key',
      'agent.pub.json',
    ],
    { cwd: dir, env: { K: 'sk-serve-replay-secret' } },
  )
  expect(result.code).toBe(0)
  return result.stdout.trim()
}

function send(served: Served, token: string, proof: string) {
  return fetch(`${served.url}/http/${upstream.authority}/data`, {
    headers: { 'x-keyhole-token': token, 'keyhole-proof': proof },
  })
}

describe('keyhole serve: proof replay across replicas', () => {
  for (const [name, url] of Object.entries(STORES)) {
    it(`refuses on one replica a proof another already accepted (--store-env ${name})`, async () => {
      const [a, b] = await Promise.all([replica(url), replica(url)])
      const token = await boundToken()
      const proof = await createProof(proofKey, { method: 'GET', url: `${upstream.origin}/data`, token })
      expect((await send(a as Served, token, proof)).status).toBe(200)
      const replayed = await send(b as Served, token, proof)
      expect(replayed.status).toBe(401)
      expect(replayed.headers.get('www-authenticate')).toContain('invalid_dpop_proof')
      // a fresh proof still works on the other replica
      const fresh = await createProof(proofKey, { method: 'GET', url: `${upstream.origin}/data`, token })
      expect((await send(b as Served, token, fresh)).status).toBe(200)
    })
  }

  it('creates the Postgres replay table when it starts with a Postgres store', async () => {
    await replica(STORES.postgres)
    const client = new pg.Client({ connectionString: STORES.postgres })
    await client.connect()
    try {
      const table = await client.query("SELECT to_regclass('keyhole_proofs') AS t")
      expect(table.rows[0].t).toBe('keyhole_proofs')
    } finally {
      await client.end()
    }
  })

  it('without a store, replicas do not share: each process keeps its own cache', async () => {
    const [a, b] = await Promise.all([replica(), replica()])
    const token = await boundToken()
    const proof = await createProof(proofKey, { method: 'GET', url: `${upstream.origin}/data`, token })
    expect((await send(a as Served, token, proof)).status).toBe(200)
    expect((await send(a as Served, token, proof)).status).toBe(401)
    // the documented limit of the in-memory cache: use --store-env with several replicas
    expect((await send(b as Served, token, proof)).status).toBe(200)
  })
})
