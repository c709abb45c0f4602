import type { ChildProcess } from 'node:child_process'
import { createCachingStore, isKeyholeError, type KeyholeError } from '@keyhole/core'
import { createRedisStore, type RedisStore } from '@keyhole/redis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, sleep, startRedisServer, stopRedisServer, uniqueNames } from './helpers.js'

// A throwaway redis-server of this file's own, so it can be killed, paused and restarted;
// the shared one on 6379 is never touched.
let port: number
let server: ChildProcess | undefined
const stores: RedisStore[] = []
const uncaught: unknown[] = []
const onUncaught = (err: unknown) => uncaught.push(err)

beforeAll(async () => {
  process.on('uncaughtException', onUncaught)
  process.on('unhandledRejection', onUncaught)
  port = await closedPort()
  server = await startRedisServer(port)
})
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
  if (server) server.kill('SIGCONT')
})
afterAll(async () => {
  if (server) await stopRedisServer(server)
  process.off('uncaughtException', onUncaught)
  process.off('unhandledRejection', onUncaught)
})

const names = uniqueNames('outage')
const make = (errors: KeyholeError[] = []) => {
  const store = createRedisStore({
    ...names,
    url: `redis://127.0.0.1:${port}`,
    timeout: '300ms',
    onError: (err) => errors.push(err),
  })
  stores.push(store)
  return store
}
const code = async (answer: unknown) =>
  Promise.resolve(answer).then(
    () => 'ok',
    (err: unknown) => (isKeyholeError(err) ? err.code : `not a KeyholeError: ${String(err)}`),
  )

/** Polls until `check` passes, returning how long that took. */
async function until(check: () => Promise<boolean>, limitMs = 15_000): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < limitMs) {
    if (await check().catch(() => false)) return performance.now() - started
    await sleep(25)
  }
  throw new Error('condition never held')
}

describe('Redis outage', () => {
  it('fails closed while Redis is down and recovers by itself when it is back', async () => {
    const errors: KeyholeError[] = []
    const store = make(errors)
    const cached = createCachingStore(store, { negativeTtl: 0 })
    const seen: string[] = []
    store.onRevoked((jti) => seen.push(jti))
    await store.ready()
    await store.revoke('before', new Date(Date.now() + 60_000))
    expect(await cached.isRevoked('before')).toBe(true)

    await stopRedisServer(server as ChildProcess)
    const started = performance.now()
    expect(await code(store.isRevoked('during'))).toBe('revocation_unavailable')
    console.log(
      `[redis] server killed: isRevoked rejected after ${(performance.now() - started).toFixed(0)} ms`,
    )
    expect(await code(cached.isRevoked('during'))).toBe('revocation_unavailable')
    expect(await code(store.revoke('during', new Date(Date.now() + 60_000)))).toBe('revocation_unavailable')
    // a burst of calls during the outage all settle, none is queued for later
    const burst = await Promise.all(Array.from({ length: 200 }, () => code(store.isRevoked('burst'))))
    expect(new Set(burst)).toEqual(new Set(['revocation_unavailable']))
    await sleep(500) // let a few reconnect attempts fail
    expect(errors.length).toBeGreaterThan(0)

    server = await startRedisServer(port)
    const recovered = await until(async () => (await store.isRevoked('after')) === false)
    console.log(`[redis] server restarted: same store answered again after ${recovered.toFixed(0)} ms`)
    // the restarted server is empty (no persistence); the store writes to it again, and the
    // feed resubscribed by itself
    await until(async () => {
      await store.revoke('after', new Date(Date.now() + 60_000))
      return seen.includes('after')
    })
    expect(await store.isRevoked('after')).toBe(true)
    cached.close()
    expect(uncaught).toEqual([])
  })

  it('a server that stops answering: calls time out and unanswered commands are capped, then it recovers', async () => {
    const store = createRedisStore({
      ...names,
      url: `redis://127.0.0.1:${port}`,
      timeout: '200ms',
      maxPending: 5,
    })
    stores.push(store)
    await store.ready()
    expect(await store.isRevoked('paused')).toBe(false)
    ;(server as ChildProcess).kill('SIGSTOP')
    const first = await Promise.all(Array.from({ length: 5 }, () => code(store.isRevoked('paused'))))
    expect(first).toEqual(Array(5).fill('revocation_unavailable'))
    // five commands are still unanswered: the next call is refused at once, nothing more is sent
    expect(await code(store.isRevoked('paused'))).toBe('revocation_unavailable')
    ;(server as ChildProcess).kill('SIGCONT')
    await until(async () => (await store.isRevoked('paused')) === false)
    expect(uncaught).toEqual([])
  })

  it('a store created while Redis is down starts working once it comes up', async () => {
    await stopRedisServer(server as ChildProcess)
    const store = make()
    expect(await code(store.isRevoked('early'))).toBe('revocation_unavailable')
    server = await startRedisServer(port)
    await until(async () => (await store.isRevoked('early')) === false)
    expect(uncaught).toEqual([])
  })
})
