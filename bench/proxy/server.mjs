// One proxy under test, in a process of its own (forked by bench/proxy.mjs, which talks to it
// over the IPC channel only, so no bench route sits in the request path).
//
//   config (argv[2], JSON): { kind, upstream: 'http://127.0.0.1:PORT', keyFile?, issuerFile?,
//                             decrypt?: 'node' | 'pool' | 'jose', pool?, cacheSize?, scrub?,
//                             serveKeysFile?, decryptThreads? }
//   (issuerFile: the public JWK of the issuer that signs the bench tokens; serveKeysFile: a
//   `keyhole keygen`-style private key set, decryption and issuer keys, for keyhole-serve)
//
// Every server but keyhole-serve answers GET|POST /proxy/<anything>: the keyhole ones read the
// target from it (open mode, `/proxy/http/127.0.0.1:PORT/...`), the baselines forward everything
// after the fixed `/proxy/http/127.0.0.1:PORT` prefix to the upstream. keyhole-serve is open mode
// at `/` (`/http/127.0.0.1:PORT/...`), as `keyhole serve` is.
//
// kinds:
//   keyhole-hono     @keyhole/hono/node `keyhole()` on @hono/node-server, node forwarder (as the README
//                    advises on Node), the opener's decryptor per `decrypt`
//   keyhole-express  @keyhole/express `keyhole()` on Express 5 with its defaults
//   bare-node        node:http server + node:http keep-alive Agent, .pipe() both ways
//   hono-floor       a Hono route on @hono/node-server handing the Node request and response to
//                    bare-node's pipe (RESPONSE_ALREADY_SENT): what the framework costs by itself
//   bare-express     Express 5, global fetch + pipeline(Readable.fromWeb(res.body), res)
//   keyhole-serve    `keyhole serve` itself: @keyhole/cli's startServer (what the command runs:
//                    Hono on @hono/node-server, node forwarder, node:crypto opener, a decrypt pool
//                    sized to the machine that starts on the first uncached open and stops after
//                    30 s idle, scrubbing on, the key file's issuer keys trusted), without the
//                    per-request log line the command prints to stdout
//   hono-jose        a Hono route on @hono/node-server whose handler runs jose `compactDecrypt` of
//                    the X-Keyhole-Token and `jwtVerify` of the issuer's signature on every
//                    request, injects the credential and forwards with core's node forwarder (the
//                    one keyhole uses, so the two differ only by keyhole)
//   crypto-floor     bare-node plus the least a proxy must do with a fresh token (see cryptoFloor):
//                    no keyhole, no checks beyond the signature; what no Node proxy can beat
//   jose-node        bare-node plus jose `compactDecrypt` of the X-Keyhole-Token and `jwtVerify` of
//                    the issuer's signature on every request, and the credential injected (a proxy
//                    without a grant cache)
//
// IPC: { op: 'stats' } -> { opener stats, memory }, { op: 'gc' } -> memory after two gc() runs,
// { op: 'clear' } empties the grant cache, { op: 'profile-start' | 'profile-stop', file } a CPU
// profile of a window (sampled every PROF_US µs, default 1000), { op: 'snapshot', file } a heap snapshot, { op: 'exit' } exits.
import { readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { pipeline, Readable } from 'node:stream'
import { kdf, WRAP_IV } from './tokens.mjs'

const config = JSON.parse(process.argv[2])
const upstream = new URL(config.upstream)
const PREFIX = `/proxy/http/${upstream.host}`
let opener

async function keyholeOpener() {
  const { createKeyring, createOpener } = await import('@keyhole/core')
  const key = JSON.parse(readFileSync(config.keyFile, 'utf8'))
  const issuer = JSON.parse(readFileSync(config.issuerFile, 'utf8'))
  const options = { keyring: createKeyring([key]), issuers: [issuer] }
  if (config.cacheSize !== undefined) options.cacheSize = config.cacheSize
  // 'node': what Node entry points use (createNodeOpener = createOpener + nodeDecrypt);
  // 'jose': core's runtime-neutral default.
  if (config.decrypt === 'node') return (await import('@keyhole/core/node')).createNodeOpener(options)
  // 'pool': nodeDecrypt on worker threads (createDecryptPool, its default thread count), or with
  // config.pool: { threads?, inline?, idleTimeout?, verify?: true | 'node' } as given.
  if (config.decrypt === 'pool') {
    const { createDecryptPool, nodeVerify } = await import('@keyhole/core/node')
    const { verify, ...poolOptions } = config.pool ?? {}
    const pool = createDecryptPool(poolOptions)
    // verify: true checks signatures on the pool too, 'node' with nodeVerify on the event loop.
    const verifier = verify === 'node' ? nodeVerify : verify ? pool.verify : undefined
    return createOpener({ ...options, decrypt: pool.decrypt, ...(verifier && { verify: verifier }) })
  }
  return createOpener(options)
}

function bareNode(agent, prepare) {
  return (req, res) => {
    const headers = prepare ? prepare(req, res) : req.headers
    if (!headers) return
    const out = http.request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url.slice(PREFIX.length) || '/',
        headers,
      },
      (incoming) => {
        res.writeHead(incoming.statusCode, incoming.headers)
        // .pipe, not stream.pipeline: pipeline sets up an AbortController per call and aborts it
        // when done (a DOMException each time), ~10% of this server's CPU in a profile. The
        // baseline is meant to be the fastest plain pass-through.
        incoming.pipe(res)
      },
    )
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502)
      res.end()
    })
    req.pipe(out)
  }
}

async function start() {
  switch (config.kind) {
    case 'keyhole-hono': {
      const { Hono } = await import('hono')
      const { serve } = await import('@hono/node-server')
      const { keyhole } = await import('@keyhole/hono/node')
      const { createNodeForwarder } = await import('@keyhole/core/node')
      opener = await keyholeOpener()
      const app = new Hono()
      // config.scrub: the engine's scrub option (default: its own default, on).
      const scrub = config.scrub === undefined ? {} : { scrub: config.scrub }
      app.all('/proxy/*', keyhole({ opener, forward: createNodeForwarder(), ...scrub }))
      return serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
    }
    case 'hono-floor': {
      // What Hono on @hono/node-server costs before any proxy work: the route matched, then the
      // bare node:http pass-through writes straight to the Node response (RESPONSE_ALREADY_SENT).
      const { Hono } = await import('hono')
      const { serve } = await import('@hono/node-server')
      const { RESPONSE_ALREADY_SENT } = await import('@hono/node-server/utils/response')
      const pass = bareNode(new http.Agent({ keepAlive: true }))
      const app = new Hono()
      app.all('/proxy/*', (c) => {
        pass(c.env.incoming, c.env.outgoing)
        return RESPONSE_ALREADY_SENT
      })
      return serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
    }
    case 'keyhole-express': {
      const { default: express } = await import('express')
      const { keyhole } = await import('@keyhole/express')
      opener = await keyholeOpener()
      const app = express()
      app.use('/proxy', keyhole({ opener }))
      return app.listen(0, '127.0.0.1')
    }
    case 'keyhole-serve': {
      const { startServer } = await import('@keyhole/cli')
      const served = await startServer({
        keys: config.serveKeysFile,
        port: 0,
        hostname: '127.0.0.1',
        ...(config.decryptThreads !== undefined && { decryptThreads: config.decryptThreads }),
      })
      return { served, port: Number(new URL(served.url).port) }
    }
    case 'hono-jose':
      return honoJose()
    case 'bare-node': {
      const agent = new http.Agent({ keepAlive: true })
      return http.createServer(bareNode(agent)).listen(0, '127.0.0.1')
    }
    case 'jose-node': {
      const { compactDecrypt, importJWK, jwtVerify } = await import('jose')
      const jwk = JSON.parse(readFileSync(config.keyFile, 'utf8'))
      const key = await importJWK(jwk, 'ECDH-ES+A256KW')
      const issuerKey = await importJWK(JSON.parse(readFileSync(config.issuerFile, 'utf8')), 'ES256')
      const options = {
        keyManagementAlgorithms: ['ECDH-ES+A256KW'],
        contentEncryptionAlgorithms: ['A256GCM'],
      }
      const agent = new http.Agent({ keepAlive: true })
      const forward = bareNode(agent, (req) => req.headers)
      return http
        .createServer((req, res) => {
          const headers = { ...req.headers }
          const token = headers['x-keyhole-token']
          delete headers['x-keyhole-token']
          compactDecrypt(String(token), key, options)
            .then(({ plaintext }) => jwtVerify(plaintext, issuerKey, { typ: 'keyhole-grant+jwt' }))
            .then(
              ({ payload }) => {
                for (const i of payload.inject) if (i.in === 'header') headers[i.name.toLowerCase()] = i.value
                req.headers = headers
                forward(req, res)
              },
              () => {
                res.writeHead(401)
                res.end()
              },
            )
        })
        .listen(0, '127.0.0.1')
    }
    case 'bare-express': {
      const { default: express } = await import('express')
      const hop = new Set([
        'host',
        'connection',
        'keep-alive',
        'transfer-encoding',
        'upgrade',
        'expect',
        'te',
        'trailer',
      ])
      const app = express()
      app.use('/proxy', async (req, res, next) => {
        try {
          const headers = new Headers()
          for (const [name, value] of Object.entries(req.headers))
            if (!hop.has(name)) headers.set(name, String(value))
          const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
          const response = await fetch(`${upstream.origin}${req.url.slice(PREFIX.length - 6) || '/'}`, {
            method: req.method,
            headers,
            body: hasBody ? Readable.toWeb(req) : undefined,
            duplex: 'half',
            redirect: 'manual',
          })
          res.status(response.status)
          response.headers.forEach((value, name) => {
            if (name !== 'content-encoding' && name !== 'content-length' && name !== 'transfer-encoding') {
              res.setHeader(name, value)
            }
          })
          if (response.body)
            await new Promise((resolve) => pipeline(Readable.fromWeb(response.body), res, resolve))
          else res.end()
        } catch (error) {
          next(error)
        }
      })
      return app.listen(0, '127.0.0.1')
    }
    case 'crypto-floor': {
      const agent = new http.Agent({ keepAlive: true })
      return http.createServer(bareNode(agent, cryptoFloor())).listen(0, '127.0.0.1')
    }
    default:
      throw new Error(`unknown kind ${config.kind}`)
  }
}

/**
 * The crypto-floor reference: the least any Node proxy must do with a fresh token, on the event
 * loop with node:crypto and keys prepared once — parse the header, ECDH with its epk, the Concat
 * KDF, the AES key unwrap, the AES-GCM decryption, the issuer's signature check, the claims
 * parsed and the credential set — and nothing a real proxy must also do (no shape, header,
 * claims, time, revocation or policy check, no caching, no scrubbing). Returns bare-node's
 * `prepare`: the request headers to forward, or undefined after answering 401 itself.
 */
function cryptoFloor() {
  const crypto = process.getBuiltinModule('node:crypto')
  const jwk = JSON.parse(readFileSync(config.keyFile, 'utf8'))
  const issuerJwk = JSON.parse(readFileSync(config.issuerFile, 'utf8'))
  const { kty, crv, x, y } = issuerJwk
  const issuerKey = crypto.createPublicKey({ key: { kty, crv, x, ...(y && { y }) }, format: 'jwk' })
  const es256 = issuerJwk.alg === 'ES256'
  const verifyKey = es256 ? { key: issuerKey, dsaEncoding: 'ieee-p1363' } : issuerKey
  const ecdh = crypto.createECDH('prime256v1')
  ecdh.setPrivateKey(Buffer.from(jwk.d, 'base64url'))
  const open = (token) => {
    const [h, wrapped, iv, ciphertext, tag] = token.split('.')
    const header = JSON.parse(Buffer.from(h, 'base64url').toString())
    const point = Buffer.concat([
      Buffer.of(4),
      Buffer.from(header.epk.x, 'base64url'),
      Buffer.from(header.epk.y, 'base64url'),
    ])
    const z = ecdh.computeSecret(point)
    const unwrap = crypto.createDecipheriv('id-aes256-wrap', kdf(z), WRAP_IV)
    const cek = Buffer.concat([unwrap.update(Buffer.from(wrapped, 'base64url')), unwrap.final()])
    const gcm = crypto.createDecipheriv('aes-256-gcm', cek, Buffer.from(iv, 'base64url'))
    gcm.setAAD(Buffer.from(h, 'latin1'))
    gcm.setAuthTag(Buffer.from(tag, 'base64url'))
    const jws = Buffer.concat([gcm.update(Buffer.from(ciphertext, 'base64url')), gcm.final()]).toString()
    const dot = jws.lastIndexOf('.')
    const signature = Buffer.from(jws.slice(dot + 1), 'base64url')
    if (!crypto.verify(es256 ? 'sha256' : null, Buffer.from(jws.slice(0, dot)), verifyKey, signature))
      throw new Error('bad signature')
    return JSON.parse(Buffer.from(jws.slice(jws.indexOf('.') + 1, dot), 'base64url').toString())
  }
  return (req, res) => {
    const headers = { ...req.headers }
    const token = headers['x-keyhole-token']
    delete headers['x-keyhole-token']
    try {
      const { inject } = open(String(token))
      headers[inject[0].name.toLowerCase()] = inject[0].value
      headers.host = upstream.host
      return headers
    } catch {
      res.writeHead(401)
      res.end()
      return undefined
    }
  }
}

/** The hono-jose baseline: what a Hono proxy that opens every token with jose does. */
async function honoJose() {
  const { Hono } = await import('hono')
  const { serve } = await import('@hono/node-server')
  const { compactDecrypt, importJWK, jwtVerify } = await import('jose')
  const { createNodeForwarder } = await import('@keyhole/core/node')
  const key = await importJWK(JSON.parse(readFileSync(config.keyFile, 'utf8')), 'ECDH-ES+A256KW')
  const issuerKey = await importJWK(JSON.parse(readFileSync(config.issuerFile, 'utf8')), 'ES256')
  const options = { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] }
  const forward = createNodeForwarder()
  const skip = new Set(['host', 'connection', 'keep-alive', 'x-keyhole-token'])
  const app = new Hono()
  app.all('/proxy/*', async (c) => {
    let payload
    try {
      const { plaintext } = await compactDecrypt(c.req.header('x-keyhole-token') ?? '', key, options)
      ;({ payload } = await jwtVerify(plaintext, issuerKey, { typ: 'keyhole-grant+jwt' }))
    } catch {
      return c.body(null, 401)
    }
    const headers = {}
    c.req.raw.headers.forEach((value, name) => {
      if (!skip.has(name)) headers[name] = value
    })
    for (const i of payload.inject) if (i.in === 'header') headers[i.name.toLowerCase()] = i.value
    const path = c.env.incoming.url.slice(PREFIX.length) || '/'
    const method = c.req.method
    return forward(`${upstream.origin}${path}`, {
      method,
      headers,
      // The Node request itself as the body, as keyhole's Node adapters hand it over.
      body: method === 'GET' || method === 'HEAD' ? null : c.env.incoming,
      redirect: 'manual',
      duplex: 'half',
      keyhole: {
        scheme: 'http',
        host: upstream.hostname,
        port: Number(upstream.port),
        path,
        privateAddresses: true,
      },
    })
  })
  return serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
}

function memory() {
  const m = process.memoryUsage()
  return {
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  }
}

const started = await start()
// keyhole-serve: startServer resolves once listening and keeps its node:http server to itself.
const server = started.served ? undefined : started
if (started.served) process.send({ port: started.port })
else {
  server.keepAliveTimeout = 60_000
  server.on('listening', () => process.send({ port: server.address().port }))
  if (server.listening) process.send({ port: server.address().port })
}

// A CPU profile of a window of the run (the same V8 sampling profiler as `node --cpu-prof`,
// started and stopped over IPC so server start-up and warm-up stay out of it).
let session
async function profile(op, file) {
  const { Session } = await import('node:inspector')
  const post = (method, params) =>
    new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))))
  if (op === 'profile-start') {
    session = new Session()
    session.connect()
    await post('Profiler.enable')
    await post('Profiler.setSamplingInterval', { interval: Number(process.env.PROF_US ?? 1000) })
    await post('Profiler.start')
  } else {
    const { profile } = await post('Profiler.stop')
    session.disconnect()
    writeFileSync(file, JSON.stringify(profile))
  }
}

// Exit with the bench (its IPC channel closes when it ends, even when it is killed).
process.on('disconnect', () => process.exit(0))
process.on('message', async (message) => {
  if (message.op === 'exit') {
    server?.closeAllConnections?.()
    process.exit(0)
  }
  if (message.op === 'clear') opener?.clear()
  if (message.op === 'gc' && globalThis.gc) {
    globalThis.gc()
    globalThis.gc()
    if (message.flavor) globalThis.gc({ type: 'major', execution: 'sync', flavor: message.flavor })
  }
  if (message.op === 'profile-start' || message.op === 'profile-stop') await profile(message.op, message.file)
  if (message.op === 'snapshot') (await import('node:v8')).writeHeapSnapshot(message.file)
  process.send({
    id: message.id,
    stats: opener ? opener.stats : undefined,
    memory: memory(),
    cpu: process.cpuUsage(),
  })
})
