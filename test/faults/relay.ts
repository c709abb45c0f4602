import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'

/** A TCP relay in front of a real server that a test can cut and restore on the same port. */
export interface Relay {
  readonly port: number
  /** Closes every relayed connection and refuses new ones. */
  down(): Promise<void>
  /** Accepts connections again, on the same port. */
  up(): Promise<void>
  close(): Promise<void>
}

export async function startRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<Relay> {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  const listen = async () => {
    server = createServer((inbound) => {
      track(inbound)
      const outbound = connect(targetPort, targetHost)
      track(outbound)
      inbound.pipe(outbound)
      outbound.pipe(inbound)
      inbound.on('close', () => outbound.destroy())
      outbound.on('close', () => inbound.destroy())
    })
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as { port: number }).port
  }
  const down = async () => {
    if (!server) return
    const closing = server
    server = undefined
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => closing.close(() => resolve()))
  }
  await listen()
  return {
    get port() {
      return port
    },
    down,
    up: async () => {
      if (!server) await listen()
    },
    close: down,
  }
}

/** A port that nothing listens on (bound, then closed). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
