import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

export const REDIS_URL = 'redis://127.0.0.1:6379'

/** A key prefix and channel no other test file uses. */
export function uniqueNames(label: string) {
  const id = `${label}:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}`
  return { prefix: `keyhole-test:${id}:`, channel: `keyhole-test:${id}:revocations` }
}

/** Deletes every key under `prefix` on the shared server. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`,
        'COUNT',
        1000,
      )
      if (keys.length > 0) await redis.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

/** A port that nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A throwaway redis-server on `port` that the test may kill, pause and restart. */
export async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
  probe.on('error', () => undefined)
  try {
    for (let i = 0; i < 100; i++) {
      try {
        await probe.connect()
        if ((await probe.ping()) === 'PONG') return child
      } catch {
        await sleep(50)
      }
    }
    throw new Error(`redis-server on ${port} did not start`)
  } finally {
    probe.disconnect()
  }
}

/** Kills a throwaway redis-server and waits until it is gone. */
export async function stopRedisServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

/** Percentiles of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}
