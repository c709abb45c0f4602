import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import pg from 'pg'

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test'

/** A table and channel name no other test file uses (identifiers: letters, digits, underscores). */
export function uniqueNames(label: string) {
  const id = `${label}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  return { table: `kh_test_${id}`, channel: `kh_test_${id}` }
}

/** Drops test tables on the shared server. */
export async function dropTables(...tables: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    for (const table of tables) {
      await client.query(
        `DROP TABLE IF EXISTS ${table
          .split('.')
          .map((p) => `"${p}"`)
          .join('.')}`,
      )
    }
  } finally {
    await client.end()
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

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

/**
 * A TCP proxy in front of the shared Postgres that a test can cut (closing every connection and
 * refusing new ones) and restore on the same port, to play an outage without stopping Postgres.
 */
export async function createTcpProxy(target = { host: '127.0.0.1', port: 5432 }) {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  let stalled = false

  const start = async () => {
    const s = createServer((inbound) => {
      if (stalled) {
        // accept, then say nothing: a server that hangs rather than refuses
        sockets.add(inbound)
        inbound.on('error', () => inbound.destroy())
        return
      }
      const outbound = connect(target)
      sockets.add(inbound)
      sockets.add(outbound)
      const drop = () => {
        inbound.destroy()
        outbound.destroy()
        sockets.delete(inbound)
        sockets.delete(outbound)
      }
      inbound.on('error', drop).on('close', drop)
      outbound.on('error', drop).on('close', drop)
      inbound.pipe(outbound)
      outbound.pipe(inbound)
    })
    s.listen(port, '127.0.0.1')
    await once(s, 'listening')
    port = (s.address() as { port: number }).port
    server = s
  }

  await start()
  return {
    get port() {
      return port
    },
    get url() {
      return `postgres://postgres@127.0.0.1:${port}/test`
    },
    /** Refuses new connections and resets the open ones. */
    async cut() {
      const s = server
      server = undefined
      if (s) {
        const closed = once(s, 'close')
        s.close()
        for (const socket of sockets) socket.destroy()
        sockets.clear()
        await closed
      }
    },
    /** Accepts connections again on the same port and forwards them. */
    async restore() {
      await this.cut()
      stalled = false
      await start()
    },
    /** Resets open connections, then accepts new ones and never answers them. */
    async stall() {
      await this.cut()
      stalled = true
      await start()
    },
    close() {
      return this.cut()
    },
  }
}

/** Percentiles of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}
