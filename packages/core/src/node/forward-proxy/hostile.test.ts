// The forward proxy against hostile clients: a tunnel whose TLS handshake never finishes, a
// thousand CONNECT hosts (the leaf cache stays bounded), a second request in a kept-alive tunnel
// for another host, private addresses behind a granted name or an unsigned IP literal (refused
// at the CONNECT, before any TLS), and a plain-HTTP request for a host the grant only allows over
// HTTPS. Real sockets and real upstreams on 127.0.0.1 throughout; "nothing dialed" is read from
// the upstreams' own connection counts.
import { once } from 'node:events'
import http, { type IncomingMessage } from 'node:http'
import net, { type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basic, connectTunnel, curl, type Harness, rawExchange, startHarness } from './harness.fixture.js'

const MAX_LEAVES = 100
let h: Harness
let token: string
const SECRET = 'forward-hostile-secret-2718'

beforeAll(async () => {
  h = await startHarness({ handshakeTimeoutMs: 300, maxLeaves: MAX_LEAVES })
  token = await h.token(
    [
      `127.0.0.1:${h.httpsPort}`,
      `upstream.test:${h.httpsPort}`,
      // HTTPS only, on the port where the plain-HTTP upstream listens.
      `127.0.0.1:${h.httpPort}`,
      'metadata.test',
      `localhost:${h.httpsPort}`,
      '*.hosts.test',
    ],
    SECRET,
  )
})
afterAll(() => h.close())

const proxyWith = (port: number) => `http://keyhole:${token}@127.0.0.1:${port}`

/** Resolves once the socket is closed by the other side (or errors, which closes it). */
const closed = (socket: Socket) =>
  new Promise<void>((resolve) => {
    if (socket.destroyed) resolve()
    socket.once('close', () => resolve())
    socket.resume()
  })

describe('a client that never finishes the TLS handshake', () => {
  it('is closed after the handshake timeout when it sends nothing', async () => {
    const { head, socket } = await connectTunnel(h.proxyPort, `127.0.0.1:${h.httpsPort}`, basic(token))
    expect(head).toMatch(/^HTTP\/1\.1 200 /)
    await closed(socket)
  })

  it('is closed after the handshake timeout when it stops halfway through its ClientHello', async () => {
    const { head, socket } = await connectTunnel(h.proxyPort, `upstream.test:${h.httpsPort}`, basic(token))
    expect(head).toMatch(/^HTTP\/1\.1 200 /)
    // A TLS record header announcing 512 bytes of handshake, then only the first few of them.
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]))
    await closed(socket)
  })
})

describe('a thousand CONNECT hosts', () => {
  it('issues a leaf per host and keeps the certificate cache within its bound', async () => {
    const hosts = Array.from({ length: 1000 }, (_, i) => `h${i}.hosts.test`)
    let most = 0
    // The leaf is issued before the CONNECT is answered; every hundredth host also completes the
    // TLS handshake, to see that leaf presented for its name.
    const handshake = async (host: string, complete: boolean) => {
      const { head, socket } = await connectTunnel(h.proxyPort, `${host}:443`, basic(token))
      expect(head).toMatch(/^HTTP\/1\.1 200 /)
      most = Math.max(most, h.ca.cachedLeaves)
      if (!complete) {
        socket.destroy()
        return
      }
      const secure = tls.connect({ socket, servername: host, ca: h.ca.certificate })
      await once(secure, 'secureConnect')
      expect(secure.getPeerCertificate().subjectaltname).toBe(`DNS:${host}`)
      secure.destroy()
    }
    const started = performance.now()
    let next = 0
    // A few clients at a time, as a busy sandbox would open them.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < hosts.length) {
          const i = next++
          await handshake(hosts[i] as string, i % 100 === 0)
        }
      }),
    )
    const ms = performance.now() - started
    console.info(
      `1000 CONNECT hosts, one leaf each: ${Math.round(ms)} ms (${(ms / 1000).toFixed(1)} ms/host)`,
    )
    expect(most).toBeLessThanOrEqual(MAX_LEAVES)
    expect(h.ca.cachedLeaves).toBe(MAX_LEAVES)
    // The first host's leaf was dropped long ago; asking again issues a new one, still bounded.
    await handshake('h0.hosts.test', true)
    expect(h.ca.cachedLeaves).toBe(MAX_LEAVES)
  }, 120_000)
})

/** An agent whose one connection is the given socket: every request goes down the same tunnel. */
class TunnelAgent extends http.Agent {
  constructor(private readonly socket: tls.TLSSocket) {
    super({ keepAlive: true, maxSockets: 1 })
  }

  override createConnection(): Socket {
    return this.socket as unknown as Socket
  }
}

function get(agent: http.Agent, path: string, host: string) {
  return new Promise<{ status: number; headers: IncomingMessage['headers']; body: string; reused: boolean }>(
    (resolve, reject) => {
      const req = http.request({ agent, host: '127.0.0.1', path, headers: { host } }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
        })
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, reused: req.reusedSocket }),
        )
      })
      req.on('error', reject)
      req.end()
    },
  )
}

describe('a second request in a kept-alive tunnel', () => {
  it('is 421 misdirected_request when its Host is another host, and nothing is dialed for it', async () => {
    const authority = `127.0.0.1:${h.httpsPort}`
    const { head, socket } = await connectTunnel(h.proxyPort, authority, basic(token))
    expect(head).toMatch(/^HTTP\/1\.1 200 /)
    const secure = tls.connect({ socket, host: '127.0.0.1', ca: h.ca.certificate })
    await once(secure, 'secureConnect')
    const agent = new TunnelAgent(secure)
    try {
      const first = await get(agent, '/tunnel-first', authority)
      expect(first).toMatchObject({ status: 200, body: 'hello /tunnel-first', reused: false })
      const seen = h.seen.length
      const connections = h.connections()
      // upstream.test is granted too, and resolves to the same upstream: only the tunnel says no.
      const second = await get(agent, '/tunnel-second', `upstream.test:${h.httpsPort}`)
      expect(second.reused).toBe(true)
      expect(second.status).toBe(421)
      expect(second.headers['x-keyhole-error']).toBe('misdirected_request')
      expect(h.seen.length).toBe(seen)
      expect(h.connections()).toEqual(connections)
    } finally {
      agent.destroy()
      secure.destroy()
    }
  })

  it('is 421 for an absolute-form target naming another host inside the tunnel', async () => {
    const authority = `127.0.0.1:${h.httpsPort}`
    const { socket } = await connectTunnel(h.proxyPort, authority, basic(token))
    const secure = tls.connect({ socket, host: '127.0.0.1', ca: h.ca.certificate })
    await once(secure, 'secureConnect')
    const seen = h.seen.length
    secure.write(
      `GET https://upstream.test:${h.httpsPort}/abs-other HTTP/1.1\r\nHost: ${authority}\r\nConnection: close\r\n\r\n`,
    )
    const chunks: Buffer[] = []
    secure.on('data', (chunk: Buffer) => chunks.push(chunk))
    await closed(secure as unknown as Socket)
    const answer = Buffer.concat(chunks).toString('latin1')
    expect(answer).toMatch(/^HTTP\/1\.1 421 [\s\S]*x-keyhole-error: misdirected_request/i)
    expect(h.seen.length).toBe(seen)
  })

  it('is 421 for a request carrying two Host headers, the right one first (Node keeps only the first)', async () => {
    const authority = `127.0.0.1:${h.httpsPort}`
    const { socket } = await connectTunnel(h.proxyPort, authority, basic(token))
    const secure = tls.connect({ socket, host: '127.0.0.1', ca: h.ca.certificate })
    await once(secure, 'secureConnect')
    const seen = h.seen.length
    secure.write(
      `GET /two-hosts HTTP/1.1\r\nHost: ${authority}\r\nHost: upstream.test:${h.httpsPort}\r\nConnection: close\r\n\r\n`,
    )
    const chunks: Buffer[] = []
    secure.on('data', (chunk: Buffer) => chunks.push(chunk))
    await closed(secure as unknown as Socket)
    const answer = Buffer.concat(chunks).toString('latin1')
    expect(answer).toMatch(/^HTTP\/1\.1 421 [\s\S]*x-keyhole-error: misdirected_request/i)
    expect(h.seen.length).toBe(seen)
  })
})

/** The first flight of a real TLS client for `servername`: its ClientHello, as it would go on the wire. */
function clientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const wire = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        resolve(Buffer.from(chunk))
        done()
        // Written from inside tls.connect(): the client is gone once that has returned.
        setImmediate(() => client.destroy())
      },
    })
    // No server name for an IP literal, as real clients do (an empty one sends no SNI).
    const name = net.isIP(servername) === 0 ? servername : ''
    const client = tls.connect({ socket: wire as Socket, servername: name, ca: h.ca.certificate })
    client.on('error', () => {})
  })
}

/**
 * Sends a CONNECT and, without waiting for the answer, a real ClientHello (as an eager client
 * does); collects every byte the proxy sends back until it closes the connection.
 */
async function connectEagerly(
  port: number,
  authority: string,
  servername: string,
  proxyAuthorization: string,
): Promise<{ answer: Buffer; closedByProxy: boolean }> {
  const hello = await clientHello(servername)
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: ${proxyAuthorization}\r\n\r\n`
  socket.write(Buffer.concat([Buffer.from(request, 'latin1'), hello]))
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('error', () => {})
  const closedByProxy = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
  socket.destroy()
  return { answer: Buffer.concat(chunks), closedByProxy }
}

/**
 * Asserts the proxy answered the CONNECT with 403 `host_not_allowed` and nothing else: the whole
 * answer is that response (no TLS record after it, although a ClientHello was waiting), and the
 * proxy closed the connection.
 */
function expectRefusedBeforeTls(result: { answer: Buffer; closedByProxy: boolean }): void {
  const text = result.answer.toString('latin1')
  expect(text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*x-keyhole-error: host_not_allowed\r\n/i)
  const headEnd = result.answer.indexOf('\r\n\r\n')
  const length = Number(/content-length: (\d+)/i.exec(text)?.[1])
  // Exactly the head and its JSON body: no ServerHello (a TLS record starts with 0x16) follows.
  expect(result.answer.length).toBe(headEnd + 4 + length)
  expect(JSON.parse(text.slice(headEnd + 4)).error.code).toBe('host_not_allowed')
  expect(text).not.toContain(SECRET)
  expect(result.closedByProxy).toBe(true)
}

describe('private addresses the rules refuse', () => {
  // The strict proxy's engine has no allowPrivateAddresses: a granted *name* that resolves to a
  // loopback or link-local address is refused at the CONNECT itself, with the engine's resolver
  // and address rule (only an IP literal a signed grant names is let through, by design).
  it('refuses the CONNECT for a granted name resolving to loopback, before any TLS, dialing nothing', async () => {
    const before = h.connections()
    const result = await curl(proxyWith(h.strictProxyPort), `https://upstream.test:${h.httpsPort}/private`, [
      '--cacert',
      h.caFile,
      '-D',
      '-',
    ])
    // curl gives up on the tunnel: the 403 is the CONNECT's, and no request was sent inside.
    expect(result.code).not.toBe(0)
    expect(result.stdout).toMatch(/^HTTP\/1\.1 403 [\s\S]*x-keyhole-error: host_not_allowed/i)
    expect(result.stdout).not.toContain('200 Connection Established')
    expect(result.stdout).not.toContain(SECRET)
    expectRefusedBeforeTls(
      await connectEagerly(h.strictProxyPort, `upstream.test:${h.httpsPort}`, 'upstream.test', basic(token)),
    )
    expect(h.connections()).toEqual(before)
    expect(h.seen.some((s) => s.url === '/private')).toBe(false)
  })

  it('refuses the CONNECT for a granted name resolving to the cloud metadata address', async () => {
    const result = await curl(proxyWith(h.strictProxyPort), 'https://metadata.test/latest/meta-data/', [
      '--cacert',
      h.caFile,
      '-D',
      '-',
    ])
    expect(result.stdout).toMatch(/^HTTP\/1\.1 403 [\s\S]*x-keyhole-error: host_not_allowed/i)
    expect(result.stdout).not.toContain('200 Connection Established')
    expectRefusedBeforeTls(
      await connectEagerly(h.strictProxyPort, 'metadata.test:443', 'metadata.test', basic(token)),
    )
  })

  it('refuses the CONNECT for a granted local-only name (localhost) without resolving it', async () => {
    const before = h.connections()
    expectRefusedBeforeTls(
      await connectEagerly(h.strictProxyPort, `localhost:${h.httpsPort}`, 'localhost', basic(token)),
    )
    expect(h.connections()).toEqual(before)
  })

  it('refuses the CONNECT for a private IP literal an unsigned grant names, before any TLS', async () => {
    const unsigned = await h.unsignedToken([`127.0.0.1:${h.httpsPort}`, '10.0.0.1'], SECRET)
    const before = h.connections()
    for (const authority of [`127.0.0.1:${h.httpsPort}`, '10.0.0.1:443']) {
      const host = authority.slice(0, authority.lastIndexOf(':'))
      expectRefusedBeforeTls(await connectEagerly(h.unsignedProxyPort, authority, host, basic(unsigned)))
    }
    expect(h.connections()).toEqual(before)
  })

  it('still tunnels to a private IP literal a signed grant names (the engine would dial it too)', async () => {
    const result = await curl(
      proxyWith(h.strictProxyPort),
      `https://127.0.0.1:${h.httpsPort}/signed-literal`,
      ['--cacert', h.caFile],
    )
    expect(result.stdout).toBe('hello /signed-literal\n200')
    expect(h.seen.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`)
  })

  it('refuses a CONNECT to a private address no token names before any TLS', async () => {
    for (const authority of ['10.0.0.1:443', '169.254.169.254:443', '[::1]:443']) {
      const answer = await rawExchange(
        h.strictProxyPort,
        `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: ${basic(token)}\r\n\r\n`,
      )
      expect(answer).toMatch(/^HTTP\/1\.1 403 [\s\S]*x-keyhole-error: host_not_allowed/i)
    }
  })
})

describe('plain HTTP for a host the grant only allows over HTTPS', () => {
  it('is refused with 403 host_not_allowed, never downgraded, and nothing is dialed', async () => {
    const before = h.connections()
    const result = await curl(proxyWith(h.proxyPort), `http://127.0.0.1:${h.httpPort}/downgrade`, ['-D', '-'])
    expect(result.stdout).toMatch(/^HTTP\/1\.1 403 [\s\S]*x-keyhole-error: host_not_allowed/i)
    const other = await curl(proxyWith(h.proxyPort), `http://upstream.test:${h.httpsPort}/downgrade`, [
      '-D',
      '-',
    ])
    expect(other.stdout).toMatch(/^HTTP\/1\.1 403 [\s\S]*x-keyhole-error: host_not_allowed/i)
    expect(h.connections()).toEqual(before)
    expect(h.seen.some((s) => s.url === '/downgrade')).toBe(false)
  })
})
