// Upstream faults: the upstream refuses, resets before or during the body, hangs before or after
// its headers, or answers with malformed HTTP. Through every proxy (core with the fetch forwarder
// and with the node forwarder, Hono, Express): the proxy answers 502/504 (or passes a broken body
// on visibly broken), never crashes, never answers 500, keeps serving, and its memory returns to
// its baseline after the battery has run many times.
import { createServer as createNetServer, type Server, type Socket } from 'node:net'
import { createOpener, type ProxyOptions } from '@keyhole/core'
import { createNodeForwarder } from '@keyhole/core/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testIssuers } from '../../packages/core/test/kit/issuer.js'
import { rawExchange, send } from '../adversarial/harness/client.js'
import { type ProxyKind, type RunningProxy, startProxy } from '../adversarial/harness/proxies.js'
import { leaks } from '../adversarial/harness/secrets.js'
import { type Minted, makeKeys, mintFor } from '../adversarial/harness/tokens.js'
import { collectGarbage } from '../load/mixed-load.js'

const MB = 1024 * 1024

/** A TCP server that speaks just enough HTTP to misbehave in the way the request path asks. */
interface FaultServer {
  port: number
  /** Connections currently open. */
  open(): number
  /** Connections that have been closed so far. */
  closed(): number
  close(): Promise<void>
}

const BEHAVIOURS: Record<string, (socket: Socket) => void> = {
  '/ok': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'),
  '/reset-now': (s) => s.resetAndDestroy(),
  '/close-now': (s) => s.end(),
  '/reset-mid-body': (s) => {
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(1000)}`)
    setTimeout(() => s.resetAndDestroy(), 50)
  },
  '/close-mid-chunked': (s) => {
    s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
    setTimeout(() => s.end(), 50)
  },
  '/hang': () => {},
  '/hang-after-status-line': (s) => s.write('HTTP/1.1 200 OK\r\n'),
  '/hang-after-headers': (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'),
  '/garbage': (s) => s.end('this is not http at all\r\n\r\n'),
  '/http09': (s) => s.end('hello'),
  '/status-999': (s) => s.end('HTTP/1.1 999 Weird\r\nContent-Length: 0\r\n\r\n'),
  '/status-000': (s) => s.end('HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n'),
  '/status-letters': (s) => s.end('HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n'),
  '/bad-content-length': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nhello'),
  '/two-content-lengths': (s) =>
    s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'),
  '/cl-and-te': (s) =>
    s.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
  '/bad-chunk': (s) => s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'),
  '/nul-in-header': (s) => s.end('HTTP/1.1 200 OK\r\nX-Bad: a\u0000b\r\nContent-Length: 0\r\n\r\n'),
  '/obs-fold-header': (s) => s.end('HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n'),
  '/no-colon-header': (s) => s.end('HTTP/1.1 200 OK\r\nNoColonHere\r\nContent-Length: 0\r\n\r\n'),
  '/huge-header': (s) =>
    s.end(`HTTP/1.1 200 OK\r\nX-Huge: ${'h'.repeat(100_000)}\r\nContent-Length: 0\r\n\r\n`),
  '/many-headers': (s) =>
    s.end(
      `HTTP/1.1 200 OK\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v\r\n`).join('')}Content-Length: 0\r\n\r\n`,
    ),
  '/unsolicited-101': (s) =>
    s.end(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u0081\u0005hello',
    ),
  '/continue-flood': (s) =>
    s.end(`${'HTTP/1.1 100 Continue\r\n\r\n'.repeat(500)}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`),
  '/early-hints-then-ok': (s) =>
    s.end(
      'HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    ),
  '/lf-only': (s) => s.end('HTTP/1.1 200 OK\nContent-Length: 2\n\nok'),
  '/body-on-204': (s) => s.end('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello'),
  '/gzip-lies': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello'),
  '/too-long-body': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok and then some more bytes'),
}

async function startFaultServer(): Promise<FaultServer> {
  const sockets = new Set<Socket>()
  let closed = 0
  const server: Server = createNetServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => {
      sockets.delete(socket)
      closed++
    })
    socket.on('error', () => {})
    let head = ''
    socket.on('data', (chunk: Buffer) => {
      if (head.includes('\r\n\r\n')) return
      head += chunk.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      const path = head.split(' ')[1]?.split('?')[0] ?? '/'
      const behave = BEHAVIOURS[path] ?? BEHAVIOURS['/garbage']!
      behave(socket)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    open: () => sockets.size,
    closed: () => closed,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** What a client could tell from one exchange. */
interface Seen {
  status: number
  code: string | undefined
  /** True when the body arrived complete as framed (Content-Length met, or the last chunk seen). */
  complete: boolean
}

function examine(raw: string): Seen {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0)
  const code = /\r\nx-keyhole-error: ([a-z_]+)/i.exec(raw)?.[1]
  const split = raw.indexOf('\r\n\r\n')
  const headers = split === -1 ? raw : raw.slice(0, split)
  const body = split === -1 ? '' : raw.slice(split + 4)
  const length = /\r\ncontent-length: (\d+)/i.exec(headers)?.[1]
  const chunked = /\r\ntransfer-encoding: chunked/i.test(headers)
  const complete =
    length !== undefined ? body.length >= Number(length) : chunked ? body.endsWith('0\r\n\r\n') : true
  return { status, code, complete }
}

const CASES: Record<string, (seen: Seen) => boolean> = {
  '/ok': (s) => s.status === 200 && s.complete,
  // Connection-level failures before any response: 502.
  '/reset-now': (s) => s.status === 502 && s.code === 'upstream_unreachable',
  '/close-now': (s) => s.status === 502 && s.code === 'upstream_unreachable',
  // Failures after the headers were passed on: the client must see a truncated body, never a complete one.
  '/reset-mid-body': (s) => s.status === 200 && !s.complete,
  '/close-mid-chunked': (s) => s.status === 200 && !s.complete,
  '/hang': (s) => s.status === 504 && s.code === 'upstream_timeout',
  '/hang-after-status-line': (s) => s.status === 504 && s.code === 'upstream_timeout',
  '/garbage': (s) => s.status === 502,
  '/http09': (s) => s.status === 502,
  '/status-999': (s) => s.status === 502,
  '/status-000': (s) => s.status === 502,
  '/status-letters': (s) => s.status === 502,
  '/bad-content-length': (s) => s.status === 502,
  '/two-content-lengths': (s) => s.status === 502,
  '/cl-and-te': (s) => s.status === 502,
  // With fetch the body error can come before the first byte is written: the connection closes
  // with no response at all (status 0), which a client sees as a failed request, as it should.
  '/bad-chunk': (s) => s.status === 502 || s.status === 0 || (s.status === 200 && !s.complete),
  '/nul-in-header': (s) => s.status === 502,
  '/obs-fold-header': (s) => s.status === 502 || s.status === 200,
  '/no-colon-header': (s) => s.status === 502,
  '/huge-header': (s) => s.status === 502,
  '/many-headers': (s) => s.status === 502 || s.status === 200,
  '/unsolicited-101': (s) => s.status === 502 || s.status === 504,
  '/continue-flood': (s) => s.status === 200 || s.status === 502,
  '/early-hints-then-ok': (s) => s.status === 200 && s.complete,
  '/lf-only': (s) => s.status === 200 || s.status === 502,
  '/body-on-204': (s) => s.status === 204 || s.status === 502,
  // fetch decodes gzip itself and fails on the lie; the node forwarder passes the bytes on untouched.
  '/gzip-lies': (s) => s.status === 502 || s.status === 0 || s.status === 200,
  '/too-long-body': (s) => s.status === 200 || s.status === 502,
}

interface Variant {
  name: string
  kind: ProxyKind
  node: boolean
}

const VARIANTS: Variant[] = [
  { name: 'core + fetch forwarder', kind: 'core', node: false },
  { name: 'core + node forwarder', kind: 'core', node: true },
  { name: 'hono + fetch forwarder', kind: 'hono', node: false },
  { name: 'express + node forwarder', kind: 'express', node: true },
]

describe('upstream faults', () => {
  let faults: FaultServer
  let minted: Minted
  let refusedPort: number
  const proxies: { variant: Variant; proxy: RunningProxy }[] = []
  const forwarders: { destroy(): void }[] = []

  beforeAll(async () => {
    faults = await startFaultServer()
    const keys = await makeKeys()
    // A port with nothing listening: bind, note the port, close.
    const probe = await startFaultServer()
    refusedPort = probe.port
    await probe.close()
    minted = await mintFor(keys.key, {
      hosts: [`http://127.0.0.1:${faults.port}`, `http://127.0.0.1:${refusedPort}`],
      inject: ['header', 'query'],
    })
    const opener = createOpener({ keyring: keys.keyring, issuers: testIssuers })
    for (const variant of VARIANTS) {
      const options: ProxyOptions = { opener, timeout: '1s' }
      if (variant.node) {
        const forward = createNodeForwarder()
        forwarders.push(forward)
        options.forward = forward
      }
      proxies.push({ variant, proxy: await startProxy(variant.kind, options) })
    }
  })

  afterAll(async () => {
    for (const { proxy } of proxies) await proxy.close()
    for (const forward of forwarders) forward.destroy()
    await faults.close()
    expect(leaks()).toEqual([])
  })

  async function exchange(proxy: RunningProxy, path: string, port = faults.port): Promise<Seen> {
    const raw = await rawExchange(
      proxy.port,
      `GET ${proxy.prefix}/http/127.0.0.1:${port}${path}?q=1 HTTP/1.1\r\nHost: x\r\nX-Keyhole-Token: ${minted.token}\r\nConnection: close\r\n\r\n`,
      3000,
    )
    return examine(raw)
  }

  async function battery(proxy: RunningProxy): Promise<string[]> {
    const wrong: string[] = []
    const seen = await exchange(proxy, '/refused', refusedPort)
    if (!(seen.status === 502 && seen.code === 'upstream_unreachable'))
      wrong.push(`refused: ${JSON.stringify(seen)}`)
    await Promise.all(
      Object.entries(CASES).map(async ([path, ok]) => {
        const got = await exchange(proxy, path)
        if (!ok(got) || (got.status >= 500 && got.code === undefined) || got.status === 500)
          wrong.push(`${path}: ${JSON.stringify(got)}`)
      }),
    )
    return wrong
  }

  for (const variant of VARIANTS) {
    it(`${variant.name}: every fault gets 502/504 or a visibly truncated body, and the proxy keeps serving`, async () => {
      const { proxy } = proxies.find((p) => p.variant === variant)!
      expect(await battery(proxy)).toEqual([])
      // Still healthy.
      expect((await exchange(proxy, '/ok')).status).toBe(200)
      // No engine event reports a 500, and every 5xx has a keyhole code.
      for (const event of proxy.events) expect(event.status).not.toBe(500)
    }, 60_000)
  }

  it('a client that goes away while the upstream hangs closes the upstream connection', async () => {
    for (const { variant, proxy } of proxies) {
      const before = faults.closed()
      const answer = await send(`${proxy.base}/http/127.0.0.1:${faults.port}/hang-after-headers`, {
        headers: [['x-keyhole-token', minted.token]],
        timeoutMs: 500,
      }).catch((error: Error) => error)
      expect(answer, variant.name).toBeInstanceOf(Error)
      await waitFor(() => faults.closed() > before, 5000)
      expect(
        faults.closed(),
        `${variant.name}: upstream connection closed after the client left`,
      ).toBeGreaterThan(before)
    }
  }, 30_000)

  it('memory returns to its baseline after the fault battery has run 30 more times', async () => {
    for (const { proxy } of proxies) await battery(proxy)
    await settle()
    collectGarbage()
    const baseline = process.memoryUsage()
    for (let round = 0; round < 30; round++) {
      await Promise.all(proxies.map(({ proxy }) => battery(proxy)))
    }
    await settle()
    collectGarbage()
    const after = process.memoryUsage()
    const grew = (after.heapUsed - baseline.heapUsed) / MB
    console.log(
      `[faults] ${30 * proxies.length * (Object.keys(CASES).length + 1)} faulty exchanges: heap after GC ${(baseline.heapUsed / MB).toFixed(1)} MB -> ${(after.heapUsed / MB).toFixed(1)} MB (${grew >= 0 ? '+' : ''}${grew.toFixed(1)} MB); RSS ${(baseline.rss / MB).toFixed(1)} MB -> ${(after.rss / MB).toFixed(1)} MB; upstream connections open: ${faults.open()}`,
    )
    expect(grew).toBeLessThan(16)
  }, 300_000)
})

async function settle(): Promise<void> {
  // Let hanging upstream exchanges hit their timeouts and sockets close.
  await new Promise((resolve) => setTimeout(resolve, 1500))
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25))
}
