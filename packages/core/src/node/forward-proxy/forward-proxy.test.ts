// The forward proxy against real clients (curl, Python requests, undici's ProxyAgent, raw sockets)
// and real upstreams on 127.0.0.1.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import tls from 'node:tls'
import { ProxyAgent, request as undiciRequest } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  basic,
  connectTunnel,
  curl,
  type Harness,
  rawExchange,
  runProgram,
  startHarness,
} from './harness.fixture.js'

let h: Harness
let token: string
const SECRET = 'forward-proxy-secret-4711'

beforeAll(async () => {
  h = await startHarness()
  token = await h.token(
    [`127.0.0.1:${h.httpsPort}`, `upstream.test:${h.httpsPort}`, `http://127.0.0.1:${h.httpPort}`],
    SECRET,
  )
})
afterAll(() => h.close())

const proxyWith = (password: string, port = h.proxyPort) => `http://keyhole:${password}@127.0.0.1:${port}`

// The last request the upstreams saw, checked for the injected credential and no token anywhere.
function lastSeen(url: string) {
  const seen = h.seen.filter((s) => s.url === url).at(-1)
  expect(seen, `upstream saw ${url}`).toBeDefined()
  const raw = seen!.rawHeaders.join('\n')
  expect(raw).not.toContain(token.slice(0, 40))
  expect(seen!.headers['proxy-authorization']).toBeUndefined()
  expect(seen!.headers['x-keyhole-token']).toBeUndefined()
  return seen!
}

describe('CONNECT with TLS interception (curl)', () => {
  it('runs requests for an IP authority through the engine with the injected credential', async () => {
    const result = await curl(proxyWith(token), `https://127.0.0.1:${h.httpsPort}/secure?x=1&y=%2F`, [
      '--cacert',
      h.caFile,
    ])
    expect(result.stdout).toBe(`hello /secure?x=1&y=%2F\n200`)
    expect(lastSeen('/secure?x=1&y=%2F').headers.authorization).toBe(`Bearer ${SECRET}`)
  })

  it('serves a DNS authority with SNI, and the engine verifies the real upstream certificate', async () => {
    const result = await curl(proxyWith(token), `https://upstream.test:${h.httpsPort}/named`, [
      '--cacert',
      h.caFile,
    ])
    expect(result.stdout).toBe(`hello /named\n200`)
    const seen = lastSeen('/named')
    expect(seen.headers.authorization).toBe(`Bearer ${SECRET}`)
    expect(seen.headers.host).toBe(`upstream.test:${h.httpsPort}`)
  })

  it('keeps an open-mode-looking path inside the tunnel on the CONNECT host', async () => {
    const result = await curl(proxyWith(token), `https://127.0.0.1:${h.httpsPort}/https/evil.test/x`, [
      '--cacert',
      h.caFile,
    ])
    expect(result.stdout).toBe(`hello /https/evil.test/x\n200`)
    lastSeen('/https/evil.test/x')
  })

  it('answers 421 misdirected_request for a Host other than the CONNECT authority', async () => {
    const before = h.seen.length
    const result = await curl(proxyWith(token), `https://127.0.0.1:${h.httpsPort}/misdirected`, [
      '--cacert',
      h.caFile,
      '-H',
      'Host: upstream.test',
      '-D',
      '-',
    ])
    expect(result.stdout).toMatch(/x-keyhole-error: misdirected_request/i)
    expect(result.stdout.endsWith('421')).toBe(true)
    expect(h.seen.length).toBe(before)
  })

  it('streams request bodies and keeps the tunnel alive for several requests', async () => {
    const body = 'x'.repeat(200_000)
    const file = join(h.dir, 'upload.txt')
    await writeFile(file, body)
    const post = await curl(proxyWith(token), `https://127.0.0.1:${h.httpsPort}/upload`, [
      '--cacert',
      h.caFile,
      '--data-binary',
      `@${file}`,
    ])
    expect(post.stdout).toBe(`hello /upload ${body}\n200`)
    const plainPost = await curl(proxyWith(token), `http://127.0.0.1:${h.httpPort}/upload-plain`, [
      '--data-binary',
      'abc',
    ])
    expect(plainPost.stdout).toBe('hello /upload-plain abc\n200')
    const two = await curl(proxyWith(token), `https://127.0.0.1:${h.httpsPort}/first`, [
      '--cacert',
      h.caFile,
      '-v',
      `https://127.0.0.1:${h.httpsPort}/second`,
    ])
    expect(two.stdout).toBe('hello /second\n200hello /first\n200')
    expect(two.stderr).toMatch(/Re-using existing connection/)
  })

  it('is refused by a client that does not trust the keyhole CA', async () => {
    const result = await curl(proxyWith(token), `https://127.0.0.1:${h.httpsPort}/untrusted`)
    expect(result.code).toBe(60) // curl: peer certificate cannot be authenticated
  })
})

describe('CONNECT refusals happen before any TLS', () => {
  it('refuses a host no token names with 403 host_not_allowed and no ServerHello', async () => {
    const answer = await rawExchange(
      h.proxyPort,
      `CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\nProxy-Authorization: ${basic(token)}\r\n\r\n` +
        // An eager client's first TLS bytes: they must never be answered.
        '\x16\x03\x01\x00\x05hello',
    )
    expect(answer).toMatch(/^HTTP\/1\.1 403 /)
    expect(answer).toMatch(/x-keyhole-error: host_not_allowed/i)
    expect(answer.split('\r\n\r\n')[1]).toContain('"code":"host_not_allowed"')
    expect(answer).not.toContain('\x16\x03')
  })

  it("refuses the token's host on another port, and plain-HTTP grants for CONNECT", async () => {
    for (const authority of [`127.0.0.1:${h.httpsPort + 1}`, `127.0.0.1:${h.httpPort}`]) {
      const answer = await rawExchange(
        h.proxyPort,
        `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: ${basic(token)}\r\n\r\n`,
      )
      expect(answer).toMatch(/^HTTP\/1\.1 403 [\s\S]*x-keyhole-error: host_not_allowed/i)
      // A plain-HTTP grant is refused too, but in words a user of a tunnelling client can act on.
      const plainOnly = authority.endsWith(`:${h.httpPort}`)
      expect(answer.includes('carries HTTPS only')).toBe(plainOnly)
    }
  })

  it('undici ProxyAgent tunnels an http:// URL: refused, saying to send it in absolute form; proxyTunnel false works', async () => {
    const tunnelling = new ProxyAgent({ uri: proxyWith(token) })
    const absolute = new ProxyAgent({ uri: proxyWith(token), proxyTunnel: false })
    try {
      const refused = await undiciRequest(`http://127.0.0.1:${h.httpPort}/undici-tunnel`, {
        dispatcher: tunnelling,
      }).catch((error: Error) => error)
      expect(refused).toBeInstanceOf(Error)
      const answer = await rawExchange(
        h.proxyPort,
        `CONNECT 127.0.0.1:${h.httpPort} HTTP/1.1\r\nHost: 127.0.0.1:${h.httpPort}\r\nProxy-Authorization: ${basic(token)}\r\n\r\n`,
      )
      expect(answer).toContain('proxyTunnel: false')
      const response = await undiciRequest(`http://127.0.0.1:${h.httpPort}/undici-absolute`, {
        dispatcher: absolute,
      })
      expect(response.statusCode).toBe(200)
      expect(await response.body.text()).toBe('hello /undici-absolute')
      expect(lastSeen('/undici-absolute').headers.authorization).toBe(`Bearer ${SECRET}`)
    } finally {
      await tunnelling.close()
      await absolute.close()
    }
  })

  it('answers 407 with Proxy-Authenticate when no token comes with the CONNECT', async () => {
    const authority = `127.0.0.1:${h.httpsPort}`
    const answer = await rawExchange(
      h.proxyPort,
      `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`,
    )
    expect(answer).toMatch(/^HTTP\/1\.1 407 /)
    expect(answer).toMatch(/proxy-authenticate: Basic realm="keyhole"/i)
    expect(answer).toMatch(/x-keyhole-error: missing_token/i)
  })

  it('answers 407 invalid_token at the CONNECT for a token this proxy cannot open, before any TLS', async () => {
    const authority = `127.0.0.1:${h.httpsPort}`
    // Its public hosts hint names the authority; only opening it shows it is not for this proxy.
    const foreign = await h.foreignToken([authority])
    const answer = await rawExchange(
      h.proxyPort,
      `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: ${basic(foreign)}\r\n\r\n` +
        '\x16\x03\x01\x00\x05hello',
    )
    expect(answer).toMatch(/^HTTP\/1\.1 407 /)
    expect(answer).toMatch(/proxy-authenticate: Basic realm="keyhole"/i)
    expect(answer).toMatch(/x-keyhole-error: invalid_token/i)
    expect(answer).not.toContain('\x16\x03')
    expect(answer).not.toContain(foreign.slice(0, 40))
  })

  it('answers 403 connect_disabled, saying to start with --ca, when the proxy has no CA', async () => {
    const authority = `127.0.0.1:${h.httpsPort}`
    const answer = await rawExchange(
      h.plainProxyPort,
      `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: ${basic(token)}\r\n\r\n`,
    )
    expect(answer).toMatch(/^HTTP\/1\.1 403 [\s\S]*x-keyhole-error: connect_disabled/i)
    expect(answer).toContain('--ca')
    const result = await curl(proxyWith(token, h.plainProxyPort), `https://127.0.0.1:${h.httpsPort}/x`, [
      '--cacert',
      h.caFile,
    ])
    expect(result.code).not.toBe(0)
  })

  it('fails the handshake when the server name is another host, or absent for a host name', async () => {
    const handshake = async (authority: string, servername: string) => {
      const { head, socket } = await connectTunnel(h.proxyPort, authority, basic(token))
      expect(head).toMatch(/^HTTP\/1\.1 200 /)
      return new Promise<string>((resolve) => {
        const secure = tls.connect({
          socket,
          servername,
          ca: h.ca.certificate,
          checkServerIdentity: () => undefined,
        })
        secure.once('secureConnect', () => {
          secure.destroy()
          resolve('connected')
        })
        secure.once('error', (error) => resolve(`failed: ${error.message}`))
      })
    }
    expect(await handshake(`upstream.test:${h.httpsPort}`, 'upstream.test')).toBe('connected')
    expect(await handshake(`upstream.test:${h.httpsPort}`, 'evil.test')).toMatch(/^failed/)
    // servername '' sends no SNI at all.
    expect(await handshake(`upstream.test:${h.httpsPort}`, '')).toMatch(/^failed/)
    expect(await handshake(`127.0.0.1:${h.httpsPort}`, '')).toBe('connected')
    expect(await handshake(`127.0.0.1:${h.httpsPort}`, 'upstream.test')).toMatch(/^failed/)
  })

  it('answers a CONNECT sent inside a tunnel with 400 bad_target, not a silent reset', async () => {
    const { head, socket } = await connectTunnel(h.proxyPort, `127.0.0.1:${h.httpsPort}`, basic(token))
    expect(head).toMatch(/^HTTP\/1\.1 200 /)
    const secure = tls.connect({ socket, host: '127.0.0.1', ca: h.ca.certificate, servername: '' })
    await new Promise((resolve, reject) => {
      secure.once('secureConnect', resolve)
      secure.once('error', reject)
    })
    secure.write('CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n')
    let answer = ''
    secure.setEncoding('latin1')
    secure.on('data', (chunk: string) => {
      answer += chunk
    })
    await new Promise((resolve) => secure.once('close', resolve))
    expect(answer).toMatch(/^HTTP\/1\.1 400 /)
    expect(answer).toMatch(/x-keyhole-error: bad_target/i)
    expect(answer).toContain('"code":"bad_target"')
    expect(answer).not.toContain('evil.test')
  })
})

describe('absolute-form requests', () => {
  it('forwards http://host:port/path?query with the path encoding and query kept exactly', async () => {
    const result = await curl(proxyWith(token), `http://127.0.0.1:${h.httpPort}/plain/a%2Fb?q=%20x&r`)
    expect(result.stdout).toBe(`hello /plain/a%2Fb?q=%20x&r\n200`)
    expect(lastSeen('/plain/a%2Fb?q=%20x&r').headers.authorization).toBe(`Bearer ${SECRET}`)
  })

  it('takes the target from the request line, never from Host', async () => {
    const answer = await rawExchange(
      h.proxyPort,
      `GET http://127.0.0.1:${h.httpPort}/by-line HTTP/1.1\r\nHost: evil.test\r\nProxy-Authorization: ${basic(token)}\r\nConnection: close\r\n\r\n`,
    )
    expect(answer).toMatch(/^HTTP\/1\.1 200 /)
    expect(lastSeen('/by-line').headers.host).toBe(`127.0.0.1:${h.httpPort}`)
  })

  it("answers token failures with 407 and Proxy-Authenticate, keeping the engine's code", async () => {
    const url = `http://127.0.0.1:${h.httpPort}/no-token`
    const missing = await curl(`http://127.0.0.1:${h.proxyPort}`, url, ['-D', '-'])
    expect(missing.stdout).toMatch(/^HTTP\/1\.1 407 /)
    expect(missing.stdout).toMatch(/proxy-authenticate: Basic realm="keyhole"/i)
    expect(missing.stdout).toMatch(/x-keyhole-error: missing_token/i)
    expect(missing.stdout).not.toMatch(/www-authenticate/i)

    // A token this proxy cannot open: the engine's 401 invalid_token, as a 407.
    const foreign = await h.foreignToken([`http://127.0.0.1:${h.httpPort}`])
    const invalid = await curl(proxyWith(foreign), url, ['-D', '-'])
    expect(invalid.stdout).toMatch(/^HTTP\/1\.1 407 /)
    expect(invalid.stdout).toMatch(/x-keyhole-error: invalid_token/i)
    expect(invalid.stdout).toMatch(/proxy-authenticate: Basic realm="keyhole"/i)
    expect(h.seen.some((s) => s.url === '/no-token')).toBe(false)
  })

  it("never takes a tool's own Authorization or X-Keyhole-Token for the token", async () => {
    const url = `http://127.0.0.1:${h.httpPort}/own-auth`
    const alone = await curl(`http://127.0.0.1:${h.proxyPort}`, url, ['-H', `Authorization: Bearer ${token}`])
    expect(alone.stdout.endsWith('407')).toBe(true)
    const header = await curl(`http://127.0.0.1:${h.proxyPort}`, url, ['-H', `X-Keyhole-Token: ${token}`])
    expect(header.stdout.endsWith('407')).toBe(true)
    expect(h.seen.some((s) => s.url === '/own-auth')).toBe(false)

    // Beside a good proxy token, the tool's Authorization (even another token) is dropped.
    const other = await h.token([`http://127.0.0.1:${h.httpPort}`], 'other-secret')
    const both = await curl(proxyWith(token), url, ['-H', `Authorization: Bearer ${other}`])
    expect(both.stdout.endsWith('200')).toBe(true)
    expect(lastSeen('/own-auth').headers.authorization).toBe(`Bearer ${SECRET}`)
  })

  it('picks, of several tokens, the first whose hosts hint names the target', async () => {
    const github = await h.token(['api.github.com'], 'github-secret')
    const plainA = await h.token([`http://127.0.0.1:${h.httpPort}`], 'secret-a')
    const plainB = await h.token([`http://127.0.0.1:${h.httpPort}`], 'secret-b')
    const url = `http://127.0.0.1:${h.httpPort}/several`
    const picked = await curl(proxyWith(`${github},${plainA},${plainB}`), url)
    expect(picked.stdout.endsWith('200')).toBe(true)
    expect(lastSeen('/several').headers.authorization).toBe('Bearer secret-a')

    const none = await curl(proxyWith(github), `http://127.0.0.1:${h.httpPort}/none`, ['-D', '-'])
    expect(none.stdout).toMatch(/^HTTP\/1\.1 403 [\s\S]*x-keyhole-error: host_not_allowed/i)

    // In a tunnel too: the token for the https origin is chosen, not the plain-HTTP one.
    const tunnel = await curl(
      proxyWith(`${plainA},${token}`),
      `https://127.0.0.1:${h.httpsPort}/tunnel-several`,
      ['--cacert', h.caFile],
    )
    expect(tunnel.stdout.endsWith('200')).toBe(true)
    expect(lastSeen('/tunnel-several').headers.authorization).toBe(`Bearer ${SECRET}`)
  })

  it('takes Bearer in Proxy-Authorization and refuses it sent twice', async () => {
    const target = `http://127.0.0.1:${h.httpPort}/bearer`
    const ok = await curl(`http://127.0.0.1:${h.proxyPort}`, target, [
      '--proxy-header',
      `Proxy-Authorization: Bearer ${token}`,
    ])
    expect(ok.stdout.endsWith('200')).toBe(true)
    const twice = await rawExchange(
      h.proxyPort,
      `GET ${target} HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Bearer ${token}\r\nProxy-Authorization: ${basic(token)}\r\nConnection: close\r\n\r\n`,
    )
    expect(twice).toMatch(/^HTTP\/1\.1 407 [\s\S]*x-keyhole-error: invalid_token/i)
  })

  it("leaves requests that are not proxy requests to the server's own listener", async () => {
    const answer = await rawExchange(
      h.proxyPort,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    )
    expect(answer).toMatch(/^HTTP\/1\.1 404 [\s\S]*not a proxy request/)
  })
})

describe('other real clients', () => {
  it('Python requests through HTTPS_PROXY with REQUESTS_CA_BUNDLE', async () => {
    const script = 'import requests,sys\nr=requests.get(sys.argv[1],timeout=10)\nprint(r.status_code, r.text)'
    const result = await runProgram(
      'python3',
      ['-c', script, `https://127.0.0.1:${h.httpsPort}/python?z=1`],
      {
        HTTPS_PROXY: proxyWith(token),
        REQUESTS_CA_BUNDLE: h.caFile,
      },
    )
    expect(result.stderr).toBe('')
    expect(result.stdout.trim()).toBe('200 hello /python?z=1')
    expect(lastSeen('/python?z=1').headers.authorization).toBe(`Bearer ${SECRET}`)
  })

  it('Python urllib (stdlib) through HTTPS_PROXY and HTTP_PROXY with SSL_CERT_FILE', async () => {
    // urllib takes the proxy URL's userinfo as Basic credentials, for CONNECT and absolute form.
    const script =
      'import sys,urllib.request\nfor url in sys.argv[1:]:\n' +
      '  r=urllib.request.urlopen(url,timeout=10)\n  print(r.status, r.read().decode())'
    const result = await runProgram(
      'python3',
      [
        '-c',
        script,
        `https://upstream.test:${h.httpsPort}/urllib?a=1`,
        `http://127.0.0.1:${h.httpPort}/urllib-plain`,
      ],
      { HTTPS_PROXY: proxyWith(token), HTTP_PROXY: proxyWith(token), SSL_CERT_FILE: h.caFile },
    )
    expect(result.stderr).toBe('')
    expect(result.stdout.trim().split('\n')).toEqual(['200 hello /urllib?a=1', '200 hello /urllib-plain'])
    expect(lastSeen('/urllib?a=1').headers.authorization).toBe(`Bearer ${SECRET}`)
    expect(lastSeen('/urllib-plain').headers.authorization).toBe(`Bearer ${SECRET}`)
  })

  it('undici ProxyAgent with the token in the proxy URL (Basic) and as Bearer', async () => {
    const viaUrl = new ProxyAgent({ uri: proxyWith(token), requestTls: { ca: h.ca.certificate } })
    const viaBearer = new ProxyAgent({
      uri: `http://127.0.0.1:${h.proxyPort}`,
      token: `Bearer ${token}`,
      requestTls: { ca: h.ca.certificate },
    })
    try {
      for (const [agent, path] of [
        [viaUrl, '/undici-basic'],
        [viaBearer, '/undici-bearer'],
      ] as const) {
        const response = await undiciRequest(`https://upstream.test:${h.httpsPort}${path}`, {
          dispatcher: agent,
        })
        expect(response.statusCode).toBe(200)
        expect(await response.body.text()).toBe(`hello ${path}`)
        expect(lastSeen(path).headers.authorization).toBe(`Bearer ${SECRET}`)
      }
    } finally {
      await viaUrl.close()
      await viaBearer.close()
    }
  })
})
