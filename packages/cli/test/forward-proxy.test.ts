// keyhole ca, keyhole serve --ca and keyhole run, with the built binary, curl and python3 against
// real upstreams on 127.0.0.1.
import { X509Certificate } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawExchange } from '../../core/src/node/forward-proxy/harness.fixture.js'
import {
  type Answer,
  localhostTls,
  localhostTlsFiles,
  type Recorded,
  startUpstream,
  type Upstream,
} from '../../core/test/kit/index.js'
import { buildCli, forwardProxyFiles, keyhole, type Served, serve, tempDir } from './cli.js'

const CREDENTIAL = 'forward-cli-credential-0042'

let dir: string
let remove: () => Promise<void>
let secure: Upstream
let plain: Upstream
let httpsPort: number
let httpPort: number
let withCa: Served
let withoutCa: Served
let token: string
// What both upstreams received, in arrival order (one log shared between them).
const seen: Recorded[] = []

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  const answer: Answer = (_req, res, record) => res.end(`hello ${record.url}`)
  secure = await startUpstream({ tls: localhostTls, answer, received: seen })
  plain = await startUpstream({ answer, received: seen })
  httpsPort = secure.port
  httpPort = plain.port

  token = await forwardProxyFiles(dir, {
    hosts: [`127.0.0.1:${httpsPort}`, `http://127.0.0.1:${httpPort}`],
    authorization: `Bearer ${CREDENTIAL}`,
  })
  // The proxy's own forwarder must trust the test upstream's self-signed certificate.
  const env = { NODE_EXTRA_CA_CERTS: localhostTlsFiles.cert }
  withCa = await serve(['--keys', 'keys.json', '--ca', 'ca.json'], { cwd: dir, env })
  withoutCa = await serve(['--keys', 'keys.json'], { cwd: dir, env })
}, 300_000)

afterAll(async () => {
  await withCa?.stop()
  await withoutCa?.stop()
  await secure?.close()
  await plain?.close()
  await remove?.()
})

/** `keyhole run` with the child's output captured (the terminal is inherited by the child). */
const run = (args: string[], env: Record<string, string> = {}) => keyhole(['run', ...args], { cwd: dir, env })

describe('keyhole ca', () => {
  it('init writes the CA with mode 0600 and refuses to overwrite it without --force', async () => {
    expect((await stat(join(dir, 'ca.json'))).mode & 0o777).toBe(0o600)
    const before = await readFile(join(dir, 'ca.json'), 'utf8')
    const again = await keyhole(['ca', 'init', '--out', 'ca.json'], { cwd: dir })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('--force')
    expect(await readFile(join(dir, 'ca.json'), 'utf8')).toBe(before)

    await keyhole(['ca', 'init', '--out', 'other.json'], { cwd: dir })
    const forced = await keyhole(['ca', 'init', '--out', 'other.json', '--force'], { cwd: dir })
    expect(forced.code).toBe(0)
    expect((await stat(join(dir, 'other.json'))).mode & 0o777).toBe(0o600)
  })

  it('cert prints the CA certificate, never the key', async () => {
    const json = JSON.parse(await readFile(join(dir, 'ca.json'), 'utf8'))
    const result = await keyhole(['ca', 'cert', '--ca', 'ca.json'], { cwd: dir })
    expect(result.stdout).toBe(json.cert)
    expect(new X509Certificate(result.stdout).ca).toBe(true)
    expect(result.stdout + result.stderr).not.toContain(json.key.d)
  })

  it('has --help and says what is wrong', async () => {
    expect((await keyhole(['ca', '--help'])).stdout).toContain('keyhole ca init')
    expect((await keyhole(['ca'])).code).toBe(2)
    const missing = await keyhole(['ca', 'cert', '--ca', 'nope.json'], { cwd: dir })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('keyhole ca init')
    // A flag of the other subcommand is refused rather than ignored (no file appears).
    const foreign = await keyhole(['ca', 'cert', '--ca', 'ca.json', '--out', 'new.pem'], { cwd: dir })
    expect(foreign.code).toBe(2)
    expect(foreign.stderr).toContain("--out does not go with 'ca cert'")
    expect(existsSync(join(dir, 'new.pem'))).toBe(false)
    expect((await keyhole(['ca', 'init', '--ca', 'x.json', '--out', 'y.json'], { cwd: dir })).code).toBe(2)
    expect(existsSync(join(dir, 'y.json'))).toBe(false)
  })
})

describe('keyhole serve with and without --ca', () => {
  it('answers CONNECT with TLS interception when started with --ca', async () => {
    const result = await run([
      '--proxy',
      withCa.url,
      '--token',
      token,
      '--ca-cert',
      'ca.pem',
      '--',
      'curl',
      '-sS',
      `https://127.0.0.1:${httpsPort}/through-serve?a=1`,
    ])
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe('hello /through-serve?a=1')
    expect(result.code).toBe(0)
    const last = seen.find((s) => s.url === '/through-serve?a=1')
    expect(last?.headers.authorization).toBe(`Bearer ${CREDENTIAL}`)
    expect(last?.rawHeaders.join('\n')).not.toContain(token.slice(0, 40))
    // One log line per request, as for open mode, without the token.
    await withCa.waitFor(/through-serve/)
    expect(withCa.output().stdout).not.toContain(token)
  })

  it('answers 407 invalid_token at the CONNECT itself for a token this proxy cannot open', async () => {
    // Minted for another proxy's keys: its public hint names the host, yet it does not open here.
    expect((await keyhole(['keygen', '--out', 'other-keys.json'], { cwd: dir })).code).toBe(0)
    const minted = await keyhole(
      [
        'mint',
        '--keys',
        'other-keys.json',
        '--host',
        `127.0.0.1:${httpsPort}`,
        '--header',
        'Authorization: Bearer x',
        '--ttl',
        '10m',
      ],
      { cwd: dir },
    )
    const foreign = minted.stdout.trim()
    const before = seen.length
    const result = await run([
      '--proxy',
      withCa.url,
      '--token',
      foreign,
      '--ca-cert',
      'ca.pem',
      '--',
      'curl',
      '-sS',
      '-v',
      `https://127.0.0.1:${httpsPort}/foreign`,
    ])
    expect(result.code).not.toBe(0)
    // curl -v shows the proxy's answer to its CONNECT: refused there, no TLS was ever started.
    expect(result.stderr).toMatch(/< HTTP\/1\.1 407 /)
    expect(result.stderr).toMatch(/< x-keyhole-error: invalid_token/i)
    expect(result.stderr).not.toMatch(/TLS handshake/)
    expect(seen.length).toBe(before)
    // Refused before the engine, yet logged with the status the client got.
    await withCa.waitFor(new RegExp(` 407 invalid_token CONNECT https://127\\.0\\.0\\.1:${httpsPort} `))
    expect(withCa.output().stdout).not.toContain(foreign.slice(0, 40))
  })

  it('logs and counts what it refuses itself, with the status the client got (407, 403)', async () => {
    const env = { NODE_EXTRA_CA_CERTS: localhostTlsFiles.cert }
    const served = await serve(
      [
        '--keys',
        'keys.json',
        '--ca',
        'ca.json',
        '--metrics-public',
        '--allow-host',
        `http://127.0.0.1:${httpPort}`,
      ],
      { cwd: dir, env },
    )
    try {
      const proxy = new URL(served.url)
      const noToken = await rawExchange(
        Number(proxy.port),
        `GET http://127.0.0.1:${httpPort}/no-token HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\nConnection: close\r\n\r\n`,
      )
      expect(noToken).toMatch(/^HTTP\/1\.1 407 /)
      // HTTP/1.1 absolute form without Host: the target is the request line's.
      const noHost = await rawExchange(
        Number(proxy.port),
        `GET http://127.0.0.1:${httpPort}/no-host HTTP/1.1\r\nProxy-Authorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
      )
      expect(noHost).toMatch(/^HTTP\/1\.1 200 /)
      expect(noHost).toContain('hello /no-host')
      // The token names the HTTPS host, but --allow-host does not: refused at the CONNECT, no TLS.
      const before = seen.length
      const outside = await rawExchange(
        Number(proxy.port),
        `CONNECT 127.0.0.1:${httpsPort} HTTP/1.1\r\nHost: 127.0.0.1:${httpsPort}\r\nProxy-Authorization: Bearer ${token}\r\n\r\n`,
      )
      expect(outside).toMatch(/^HTTP\/1\.1 403 /)
      expect(outside).toMatch(/x-keyhole-error: host_not_allowed/i)
      expect(seen.length).toBe(before)
      // A token the engine itself refuses (another proxy's keys): 407 on the wire and in the log.
      expect((await keyhole(['keygen', '--out', 'elsewhere-keys.json'], { cwd: dir })).code).toBe(0)
      const elsewhere = (
        await keyhole(
          [
            'mint',
            '--keys',
            'elsewhere-keys.json',
            '--host',
            `http://127.0.0.1:${httpPort}`,
            '--header',
            'X: v',
            '--ttl',
            '5m',
          ],
          { cwd: dir },
        )
      ).stdout.trim()
      const foreign = await rawExchange(
        Number(proxy.port),
        `GET http://127.0.0.1:${httpPort}/foreign HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\nProxy-Authorization: Bearer ${elsewhere}\r\nConnection: close\r\n\r\n`,
      )
      expect(foreign).toMatch(/^HTTP\/1\.1 407 /)
      await served.waitFor(/ 407 invalid_token GET http:\/\/127\.0\.0\.1:\d+\/foreign /)
      // A WebSocket upgrade in absolute form without a token: refused before the engine, logged too.
      const upgrade = await rawExchange(
        Number(proxy.port),
        `GET ws://127.0.0.1:${httpPort}/ws-no-token HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      )
      expect(upgrade).toMatch(/^HTTP\/1\.1 407 /)
      await served.waitFor(/ 407 missing_token GET http:\/\/127\.0\.0\.1:\d+\/ws-no-token /)
      await served.waitFor(/ 407 missing_token GET http:\/\/127\.0\.0\.1:\d+\/no-token /)
      await served.waitFor(/ 200 ok GET http:\/\/127\.0\.0\.1:\d+\/no-host /)
      await served.waitFor(/ 403 host_not_allowed CONNECT https:\/\/127\.0\.0\.1:\d+ /)
      const metrics = await (await fetch(`${served.url}/metrics`)).text()
      expect(metrics).toMatch(/keyhole_requests_total\{[^}]*outcome="missing_token"[^}]*\} 2/)
      expect(metrics).toMatch(/keyhole_requests_total\{[^}]*outcome="host_not_allowed"[^}]*\} 1/)
      expect(served.output().stdout).not.toContain(token.slice(0, 40))
    } finally {
      await served.stop()
    }
  })

  it('refuses CONNECT with 403 connect_disabled without --ca, and takes absolute-form requests', async () => {
    const connect = await run([
      '--proxy',
      withoutCa.url,
      '--token',
      token,
      '--',
      'curl',
      '-sS',
      '-v',
      `https://127.0.0.1:${httpsPort}/x`,
    ])
    expect(connect.code).not.toBe(0)
    expect(connect.stderr).toMatch(/403/)
    expect(connect.stderr).toMatch(/x-keyhole-error: connect_disabled/i)

    const absolute = await run([
      '--proxy',
      withoutCa.url,
      '--token',
      token,
      '--',
      'curl',
      '-sS',
      `http://127.0.0.1:${httpPort}/plain`,
    ])
    expect(absolute.stdout).toBe('hello /plain')
    expect(seen.find((s) => s.url === '/plain')?.headers.authorization).toBe(`Bearer ${CREDENTIAL}`)
  })
})

describe('keyhole run', () => {
  it('sets the proxy and CA variables for the command and prints no token itself', async () => {
    const script =
      'const e=process.env;const fs=require("fs");console.log(JSON.stringify({' +
      'proxies:[e.HTTPS_PROXY,e.HTTP_PROXY,e.https_proxy,e.http_proxy],noProxy:[e.NO_PROXY,e.no_proxy],' +
      'node:e.NODE_EXTRA_CA_CERTS,bundles:[e.SSL_CERT_FILE,e.REQUESTS_CA_BUNDLE,e.CURL_CA_BUNDLE,e.GIT_SSL_CAINFO,e.DENO_CERT,e.AWS_CA_BUNDLE],' +
      'bundle:fs.readFileSync(e.SSL_CERT_FILE,"utf8"),all:e.ALL_PROXY??null}))'
    const result = await run(
      [
        '--proxy',
        'http://127.0.0.1:8787',
        '--token',
        token,
        '--token',
        token,
        '--ca-cert',
        'ca.pem',
        '--no-proxy',
        'example.org,.internal',
        '--',
        process.execPath,
        '-e',
        script,
      ],
      { ALL_PROXY: 'socks5://elsewhere:1080', AWS_CA_BUNDLE: '/etc/corporate-bundle.pem' },
    )
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const seenEnv = JSON.parse(result.stdout)
    expect(seenEnv.proxies).toEqual(Array(4).fill(`http://keyhole:${token},${token}@127.0.0.1:8787`))
    expect(seenEnv.noProxy).toEqual(['example.org,.internal', 'example.org,.internal'])
    expect(seenEnv.node).toBe(join(dir, 'ca.pem'))
    expect(seenEnv.bundles).toHaveLength(6)
    // One bundle in every variable, the inherited AWS_CA_BUNDLE replaced too.
    expect(new Set(seenEnv.bundles).size).toBe(1)
    expect(seenEnv.bundles[0]).not.toBe('/etc/corporate-bundle.pem')
    const caPem = (await readFile(join(dir, 'ca.pem'), 'utf8')).trim()
    expect(seenEnv.bundle).toContain(caPem)
    // The system's roots come first: a bundle of only keyhole's CA would break direct HTTPS.
    expect(seenEnv.bundle.split('BEGIN CERTIFICATE').length).toBeGreaterThan(10)
    expect(seenEnv.all).toBeNull()
    // The temporary bundle is gone once the command has finished.
    await expect(stat(seenEnv.bundles[0])).rejects.toThrow()

    const quiet = await run([
      '--proxy',
      'http://127.0.0.1:8787',
      '--token',
      token,
      '--',
      process.execPath,
      '-e',
      '',
    ])
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' })
  })

  it('passes the exit code through and takes tokens from --token-env', async () => {
    const result = await run(
      [
        '--proxy',
        'http://127.0.0.1:1',
        '--token-env',
        'MY_TOKEN',
        '--',
        process.execPath,
        '-e',
        'process.exit(7)',
      ],
      {
        MY_TOKEN: token,
      },
    )
    expect(result.code).toBe(7)
    const missing = await run([
      '--proxy',
      'http://127.0.0.1:1',
      '--token',
      token,
      '--',
      'no-such-command-keyhole',
    ])
    expect(missing.code).toBe(127)
    expect(missing.stderr).toContain('command not found')
  })

  it('runs Python requests through the proxy with the bundle it sets', async () => {
    const script = 'import requests,sys\nr=requests.get(sys.argv[1],timeout=10)\nprint(r.status_code, r.text)'
    const result = await run([
      '--proxy',
      withCa.url,
      '--token',
      token,
      '--ca-cert',
      'ca.pem',
      '--',
      'python3',
      '-c',
      script,
      `https://127.0.0.1:${httpsPort}/from-python`,
    ])
    expect(result.stdout.trim()).toBe('200 hello /from-python')
    expect(seen.find((s) => s.url === '/from-python')?.headers.authorization).toBe(`Bearer ${CREDENTIAL}`)
  })

  it('runs Python urllib (stdlib) through the proxy, trusting keyhole through SSL_CERT_FILE', async () => {
    const script =
      'import sys,urllib.request\nr=urllib.request.urlopen(sys.argv[1],timeout=10)\nprint(r.status, r.read().decode())'
    const result = await run([
      '--proxy',
      withCa.url,
      '--token',
      token,
      '--ca-cert',
      'ca.pem',
      '--',
      'python3',
      '-c',
      script,
      `https://127.0.0.1:${httpsPort}/from-urllib`,
    ])
    expect(result.stderr).toBe('')
    expect(result.stdout.trim()).toBe('200 hello /from-urllib')
    expect(seen.find((s) => s.url === '/from-urllib')?.headers.authorization).toBe(`Bearer ${CREDENTIAL}`)
  })

  it('refuses a key-bound token, saying unmodified tools cannot make proofs, without printing it', async () => {
    const header = Buffer.from(
      JSON.stringify({ alg: 'ECDH-ES+A256KW', hosts: ['api.example.com'], jkt: 'abc' }),
    )
    const bound = `${header.toString('base64url')}.a.b.c.d`
    const result = await run([
      '--proxy',
      'http://127.0.0.1:1',
      '--token',
      token,
      '--token',
      bound,
      '--',
      'true',
    ])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/token 2 is bound to a key/)
    expect(result.stderr).toMatch(/unmodified tools cannot make/)
    expect(result.stderr).not.toContain(bound)
    expect(result.stderr).not.toContain(token)
  })

  it('has --help and refuses a command line it cannot use', async () => {
    expect((await keyhole(['run', '--help'])).stdout).toContain('NODE_EXTRA_CA_CERTS')
    for (const args of [
      ['--proxy', 'http://127.0.0.1:1', '--token', token, 'curl'],
      ['--proxy', 'http://127.0.0.1:1', '--', 'true'],
      ['--proxy', 'http://user:pw@127.0.0.1:1', '--token', token, '--', 'true'],
      ['--token', token, '--', 'true'],
      ['--proxy', 'http://127.0.0.1:1', '--token', 'not-a-token', '--', 'true'],
    ]) {
      const result = await run(args)
      expect(result.code).toBe(2)
      expect(result.stderr).not.toContain(token)
    }
    // A command given without `--` is the likely slip: the hint says so, not mint's quoting tip.
    const stray = await run(['--proxy', 'http://127.0.0.1:1', '--token', token, 'echo', 'hi'])
    expect(stray.stderr).toContain('2 unexpected arguments')
    expect(stray.stderr).toContain('put -- before the command to run')
    expect(stray.stderr).not.toContain('--header')
  })
})
