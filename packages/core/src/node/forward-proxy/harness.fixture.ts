// A real forward proxy on 127.0.0.1 for the forward-proxy tests: an engine with the node forwarder
// (trusting the test upstream's certificate, resolving upstream.test to 127.0.0.1), a keyhole CA,
// recording HTTP and HTTPS upstreams that also echo WebSockets (`ws`), and helpers that drive real
// clients (curl, python, sockets).
import { execFile } from 'node:child_process'
import { lookup as dnsLookup } from 'node:dns'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import http, { type IncomingMessage } from 'node:http'
import net, { type AddressInfo, type LookupFunction } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { type Answer, localhostTls, startUpstream, testIssuer, testIssuers } from '../../../test/kit/index.js'
import { generateKey } from '../../keys/generate-key.js'
import { createKeyring } from '../../keys/keyring.js'
import { mint } from '../../mint.js'
import { createOpener } from '../../open/opener.js'
import { createProxy } from '../../proxy/create-proxy.js'
import type { Injection, PublicJwks } from '../../types.js'
import { type CertificateAuthority, createCertificateAuthority } from '../ca/certificate-authority.js'
import { createNodeForwarder, type NodeForwarder } from '../node-forwarder.js'
import { createUpgradeHandler } from '../websocket/create-upgrade-handler.js'
import { attachForwardProxy, type ForwardProxy } from './create-forward-proxy.js'

/** A request as an upstream received it. */
export interface Seen {
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly rawHeaders: string[]
  readonly servername?: string | false
}

/** Options of {@link startHarness}. */
export interface HarnessOptions {
  /** The proxy-with-CA's TLS handshake timeout inside CONNECT, in ms. Default: the proxy's. */
  handshakeTimeoutMs?: number
  /** The keyhole CA's leaf cache bound. Default: the CA's. */
  maxLeaves?: number
}

export interface Harness {
  /** The forward proxy with a CA, `http://127.0.0.1:<port>`. */
  readonly proxyUrl: string
  readonly proxyPort: number
  /** The same engine with no CA (CONNECT disabled). */
  readonly plainProxyPort: number
  /**
   * A proxy with the same CA whose engine keeps the default private-address rule (no
   * `allowPrivateAddresses`), resolving `upstream.test` to 127.0.0.1 and `metadata.test` to
   * 169.254.169.254.
   */
  readonly strictProxyPort: number
  /**
   * Like the strict proxy, but its opener also accepts unsigned tokens (the engine's `allowHosts`
   * is 127.0.0.1 and upstream.test on the HTTPS upstream's port, and 10.0.0.1).
   */
  readonly unsignedProxyPort: number
  /** TCP connections each upstream has accepted so far: what "nothing was dialed" is checked on. */
  connections(): { https: number; http: number }
  /** Close codes the upstreams' WebSocket ends have seen, in order. */
  readonly websocketCloses: number[]
  /** HTTPS upstream (certificate for IP:127.0.0.1 and DNS:upstream.test). */
  readonly httpsPort: number
  /** Plain HTTP upstream. */
  readonly httpPort: number
  readonly ca: CertificateAuthority
  /** The keyhole CA certificate, as a file. */
  readonly caFile: string
  readonly dir: string
  readonly seen: Seen[]
  /** A signed token for `hosts` that injects `Authorization: Bearer <secret>`. */
  token(hosts: string[], secret: string, inject?: Injection[]): Promise<string>
  /** An unsigned token for `hosts`: only the unsigned proxy opens it. */
  unsignedToken(hosts: string[], secret: string): Promise<string>
  /** A token no trusted issuer signed for this proxy: encrypted to another key. */
  foreignToken(hosts: string[]): Promise<string>
  close(): Promise<void>
}

// upstream.test is the test certificate's DNS name; the forwarder resolves it to loopback.
// metadata.test stands for a name whose DNS points at the cloud metadata address.
const NAMES: Record<string, string> = { 'upstream.test': '127.0.0.1', 'metadata.test': '169.254.169.254' }
const lookup: LookupFunction = (hostname, options, callback) => {
  const address = NAMES[hostname]
  if (address === undefined) return dnsLookup(hostname, options, callback)
  if (options.all)
    (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family: 4 }])
  else callback(null, address, 4)
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'keyhole-fp-'))
  const seen: Seen[] = []
  // The kit's recording upstreams, both logging into `seen`. Bodies are echoed after the path, so
  // tests see that they streamed through intact.
  const answer: Answer = (_req, res, record) => {
    const body = record.body.toString('utf8')
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end(body === '' ? `hello ${record.url}` : `hello ${record.url} ${body}`)
  }
  const cert = localhostTls.cert
  const secureUpstream = await startUpstream({ tls: localhostTls, answer, received: seen })
  const plainUpstream = await startUpstream({ answer, received: seen })
  const secure = secureUpstream.server
  const plain = plainUpstream.server
  // WebSocket echo on both: first the Authorization the handshake carried, then every message
  // back; 'bye' makes the upstream close with 4000. Close codes the upstream receives are kept.
  const wss = new WebSocketServer({ noServer: true })
  const closes: number[] = []
  wss.on('connection', (socket, req: IncomingMessage) => {
    socket.send(req.headers.authorization ?? '(none)')
    socket.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'bye') socket.close(4000, 'bye')
      else socket.send(data, { binary: isBinary })
    })
    socket.on('close', (code) => closes.push(code))
  })
  const connections = { https: 0, http: 0 }
  for (const [server, kind] of [
    [secure, 'https'],
    [plain, 'http'],
  ] as const) {
    server.on('connection', () => connections[kind]++)
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      seen.push({ url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders })
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
    })
  }
  const httpsPort = secureUpstream.port
  const httpPort = plainUpstream.port

  const keyring = createKeyring([await generateKey()])
  const jwks: PublicJwks = keyring.publicJwks()
  const opener = createOpener({ keyring, issuers: testIssuers })
  const forwarders: NodeForwarder[] = []
  const engine = (allowPrivateAddresses = true) => {
    const forward = createNodeForwarder({ agent: { ca: cert }, lookup })
    forwarders.push(forward)
    const engineOptions = { opener, forward, ...(allowPrivateAddresses && { allowPrivateAddresses }) }
    return {
      opener,
      handler: createProxy(engineOptions),
      upgrade: createUpgradeHandler(engineOptions, { ca: cert, lookup }),
      // The engine's address rule and resolver, for the forward proxy's own check at CONNECT.
      lookup,
      ...(allowPrivateAddresses && { allowPrivateAddresses }),
    }
  }
  const ca = await createCertificateAuthority(
    options.maxLeaves === undefined ? {} : { maxLeaves: options.maxLeaves },
  )
  const caFile = join(dir, 'ca.pem')
  await writeFile(caFile, ca.certificate)

  const proxies: ForwardProxy[] = []
  const notFound = (_req: IncomingMessage, res: http.ServerResponse) => {
    res.statusCode = 404
    res.end('not a proxy request')
  }
  const server = http.createServer(notFound)
  proxies.push(
    attachForwardProxy(server, {
      ...engine(),
      ca,
      nodeBody: true,
      ...(options.handshakeTimeoutMs !== undefined && { handshakeTimeoutMs: options.handshakeTimeoutMs }),
    }),
  )
  const plainServer = http.createServer(notFound)
  proxies.push(attachForwardProxy(plainServer, { handler: engine().handler }))
  const strictServer = http.createServer(notFound)
  proxies.push(attachForwardProxy(strictServer, { ...engine(false), ca, nodeBody: true }))
  const unsignedOpener = createOpener({ keyring, issuers: testIssuers, acceptUnsigned: true })
  const unsignedForward = createNodeForwarder({ agent: { ca: cert }, lookup })
  forwarders.push(unsignedForward)
  const unsignedServer = http.createServer(notFound)
  proxies.push(
    attachForwardProxy(unsignedServer, {
      handler: createProxy({
        opener: unsignedOpener,
        forward: unsignedForward,
        allowHosts: [`127.0.0.1:${httpsPort}`, `upstream.test:${httpsPort}`, '10.0.0.1'],
      }),
      opener: unsignedOpener,
      lookup,
      ca,
      nodeBody: true,
    }),
  )
  const proxyPort = await listen(server)
  const plainProxyPort = await listen(plainServer)
  const strictProxyPort = await listen(strictServer)
  const unsignedProxyPort = await listen(unsignedServer)

  const otherKeyring = createKeyring([await generateKey()])
  return {
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    proxyPort,
    plainProxyPort,
    strictProxyPort,
    unsignedProxyPort,
    connections: () => ({ ...connections }),
    websocketCloses: closes,
    httpsPort,
    httpPort,
    ca,
    caFile,
    dir,
    seen,
    token: (hosts, secret, inject) =>
      mint(
        {
          hosts,
          inject: inject ?? [{ in: 'header', name: 'Authorization', value: `Bearer ${secret}` }],
          ttl: '1h',
        },
        { to: jwks, signWith: testIssuer },
      ),
    unsignedToken: (hosts, secret) =>
      mint(
        { hosts, inject: [{ in: 'header', name: 'Authorization', value: `Bearer ${secret}` }], ttl: '1h' },
        { to: jwks },
      ),
    foreignToken: (hosts) =>
      mint(
        { hosts, inject: [{ in: 'header', name: 'Authorization', value: 'Bearer foreign' }], ttl: '1h' },
        { to: otherKeyring.publicJwks(), signWith: testIssuer },
      ),
    async close() {
      for (const proxy of proxies) proxy.close()
      for (const client of wss.clients) client.terminate()
      for (const s of [server, plainServer, strictServer, unsignedServer, secure, plain]) {
        s.closeAllConnections()
        s.close()
      }
      for (const forward of forwarders) forward.destroy()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program without any proxy settings of the test machine's own. */
export function runProgram(file: string, args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const clean: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(https?|all|no)_proxy$/i.test(name)) clean[name] = value
  }
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...clean, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
  })
}

/** curl through the proxy; stdout is the body followed by a line with the status code. */
export function curl(proxy: string, url: string, extra: string[] = []): Promise<Ran> {
  return runProgram('curl', ['-sS', '--max-time', '15', '-x', proxy, '-w', '\n%{http_code}', ...extra, url])
}

/** Sends raw bytes to the proxy and collects everything it answers until it closes the connection. */
export async function rawExchange(port: number, request: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write(request)
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve())
    socket.once('error', () => resolve())
    setTimeout(() => {
      socket.destroy()
      resolve()
    }, 5000).unref()
  })
  return Buffer.concat(chunks).toString('latin1')
}

/** Opens a CONNECT tunnel; resolves to the response head and the socket (positioned after the head). */
export async function connectTunnel(
  port: number,
  authority: string,
  proxyAuthorization: string,
): Promise<{ head: string; socket: net.Socket }> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write(
    `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: ${proxyAuthorization}\r\n\r\n`,
  )
  let buffered = Buffer.alloc(0)
  for (;;) {
    const [chunk] = (await once(socket, 'data')) as [Buffer]
    buffered = Buffer.concat([buffered, chunk])
    const end = buffered.indexOf('\r\n\r\n')
    if (end !== -1) {
      socket.pause()
      const rest = buffered.subarray(end + 4)
      if (rest.length > 0) socket.unshift(rest)
      return { head: buffered.subarray(0, end).toString('latin1'), socket }
    }
  }
}

/** `Basic` credentials as a proxy URL's userinfo makes clients send them. */
export const basic = (password: string, user = 'keyhole') =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
