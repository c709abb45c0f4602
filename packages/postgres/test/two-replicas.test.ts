import { createPostgresStore, type PostgresStore } from '@keyhole/postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CREDENTIAL,
  createIssuer,
  percentile,
  type Replica,
  sleep,
  startReplica,
  startUpstream,
  type Upstream,
} from '../../redis/test/replicas.js'
import { createTcpProxy, dropTables, PG_URL, uniqueNames } from './helpers.js'

const names = uniqueNames('replicas')
const stores: PostgresStore[] = []
const replicas: Replica[] = []
let upstream: Upstream
let issuer: Awaited<ReturnType<typeof createIssuer>>
let a: Replica
let b: Replica

const store = (options: Parameters<typeof createPostgresStore>[0] = {}) => {
  const s = createPostgresStore({ ...names, url: PG_URL, timeout: '2s', ...options })
  stores.push(s)
  return s
}

beforeAll(async () => {
  upstream = await startUpstream()
  issuer = await createIssuer(upstream)
  const storeA = store()
  const storeB = store()
  await storeA.migrate()
  // B caches "not revoked" for an hour: only LISTEN/NOTIFY can make it refuse in time
  a = await startReplica(issuer.keyring, storeA, upstream)
  b = await startReplica(issuer.keyring, storeB, upstream, { negativeTtl: '1h' })
  replicas.push(a, b)
  await Promise.all([storeA.ready(), storeB.ready()])
})
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.close()))
  await Promise.all(stores.map((s) => s.close()))
  await upstream.close()
  await dropTables(names.table)
})

describe('two proxy replicas sharing Postgres', () => {
  it("a revoke through A's admin route makes B refuse the token with 403 token_revoked", async () => {
    const { token, jti, exp } = await issuer.token()
    expect(await b.get(token)).toEqual({ status: 200, code: null })
    expect(await a.get(token)).toEqual({ status: 200, code: null })
    expect(upstream.seen.at(-1)?.authorization).toBe(CREDENTIAL)

    const response = await a.revoke(jti, exp)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ revoked: true, jti })
    expect(await a.get(token)).toEqual({ status: 403, code: 'token_revoked' })
    let answer = await b.get(token)
    for (let i = 0; i < 200 && answer.status === 200; i++) {
      await sleep(5)
      answer = await b.get(token)
    }
    expect(answer).toEqual({ status: 403, code: 'token_revoked' })
    expect((await b.get((await issuer.token()).token)).status).toBe(200)
  })

  it('propagation over repeated trials (printed, not asserted)', async () => {
    const trials = 30
    const fromRequest: number[] = []
    const afterResponse: number[] = []
    const plainRequest: number[] = []
    for (let i = 0; i < trials; i++) {
      const { token, jti, exp } = await issuer.token()
      expect((await b.get(token)).status).toBe(200) // B now caches "not revoked" for this jti
      const before = performance.now()
      expect((await b.get(token)).status).toBe(200) // baseline: one proxied request to B
      plainRequest.push(performance.now() - before)
      const started = performance.now()
      const response = await a.revoke(jti, exp)
      expect(response.status).toBe(200)
      const answered = performance.now()
      let refusedAt = Number.NaN
      for (let poll = 0; poll < 2_000; poll++) {
        if ((await b.get(token)).code === 'token_revoked') {
          refusedAt = performance.now()
          break
        }
      }
      expect(Number.isNaN(refusedAt)).toBe(false)
      fromRequest.push(refusedAt - started)
      afterResponse.push(refusedAt - answered)
    }
    const fmt = (list: number[]) =>
      `p50 ${percentile(list, 50).toFixed(1)} ms, p99 ${percentile(list, 99).toFixed(1)} ms, max ${Math.max(...list).toFixed(1)} ms`
    console.log(
      `[postgres] two replicas, ${trials} trials: POST A/revoke sent -> B answers 403: ${fmt(fromRequest)}; ` +
        `after A's 200 -> B answers 403: ${fmt(afterResponse)}; ` +
        `baseline, one proxied 200 through B: ${fmt(plainRequest)}`,
    )
  })

  it('Postgres unreachable: a replica answers 503 revocation_unavailable, and 200 again once it is back', async () => {
    const proxy = await createTcpProxy()
    try {
      const c = await startReplica(issuer.keyring, store({ url: proxy.url, timeout: '300ms' }), upstream)
      replicas.push(c)
      expect((await c.get((await issuer.token()).token)).status).toBe(200)

      await proxy.cut()
      const during = await c.get((await issuer.token()).token)
      expect(during).toEqual({ status: 503, code: 'revocation_unavailable' })
      const seenBefore = upstream.seen.length
      await Promise.all(Array.from({ length: 20 }, async () => c.get((await issuer.token()).token)))
      expect(upstream.seen.length).toBe(seenBefore) // failed closed: nothing went upstream

      await proxy.restore()
      const { token } = await issuer.token()
      let after = await c.get(token)
      for (let i = 0; i < 200 && after.status !== 200; i++) {
        await sleep(25)
        after = await c.get(token)
      }
      expect(after).toEqual({ status: 200, code: null })
    } finally {
      await proxy.close()
    }
  })
})
