// keyhole serve --ca, with the built binary: a CONNECT to a host the private-address rule refuses
// is 403 before any TLS, and --allow-private (the engine's rule) lets the same CONNECT through.
// The "upstream" is a TCP listener on 127.0.0.1 that only counts the connections it accepts.
import { once } from 'node:events'
import net, { type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, forwardProxyFiles, type Served, serve, tempDir } from './cli.js'

let dir: string
let remove: () => Promise<void>
let upstream: net.Server
let port: number
let accepted = 0
let strict: Served
let lax: Served
let token: string

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  upstream = net.createServer((socket) => {
    accepted++
    socket.destroy()
  })
  upstream.listen(0, '127.0.0.1')
  await once(upstream, 'listening')
  port = (upstream.address() as AddressInfo).port

  token = await forwardProxyFiles(dir, {
    hosts: [`localhost:${port}`],
    authorization: 'Bearer private-cli-credential',
  })
  strict = await serve(['--keys', 'keys.json', '--ca', 'ca.json'], { cwd: dir })
  lax = await serve(['--keys', 'keys.json', '--ca', 'ca.json', '--allow-private'], { cwd: dir })
}, 300_000)

afterAll(async () => {
  await strict?.stop()
  await lax?.stop()
  upstream?.close()
  await remove?.()
})

/** Sends a CONNECT and returns the answer's head once it has come, then closes the socket. */
async function connectHead(proxy: string, authority: string): Promise<string> {
  const { hostname, port: proxyPort } = new URL(proxy)
  const socket = net.connect(Number(proxyPort), hostname)
  await once(socket, 'connect')
  const basic = Buffer.from(`keyhole:${token}`).toString('base64')
  socket.write(
    `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: Basic ${basic}\r\n\r\n`,
  )
  let received = ''
  socket.setEncoding('latin1')
  try {
    for await (const chunk of socket) {
      received += chunk as string
      if (received.includes('\r\n\r\n')) break
    }
  } finally {
    socket.destroy()
  }
  return received
}

describe('keyhole serve: CONNECT and the private-address rule', () => {
  it('refuses a CONNECT to a local-only name with 403 host_not_allowed, before any TLS', async () => {
    const head = await connectHead(strict.url, `localhost:${port}`)
    expect(head).toMatch(/^HTTP\/1\.1 403 [\s\S]*x-keyhole-error: host_not_allowed/i)
    expect(head).not.toContain(token.slice(0, 40))
    expect(accepted).toBe(0)
    expect(strict.output().stdout + strict.output().stderr).not.toContain(token.slice(0, 40))
  })

  it('with --allow-private, answers the same CONNECT 200 (the rule is the engine’s)', async () => {
    expect(await connectHead(lax.url, `localhost:${port}`)).toMatch(/^HTTP\/1\.1 200 Connection Established/)
    // Answering the CONNECT dials nothing either: only a request inside the tunnel would.
    expect(accepted).toBe(0)
  })
})
