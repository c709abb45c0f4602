// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands
// keyhole mint --basic and --inject for every credential kind, each token opened by a real
// `keyhole serve` that forwards to a local upstream recording what it received; serve --scrub
// modes against an upstream that echoes the credential; refusals that never echo a value.
import { createHmac } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Recorded, startUpstream, type Upstream } from '../../core/test/kit/index.js'
import { buildCli, keyhole, type Served, serve, tempDir } from './cli.js'

const PASSWORD = 'pw-mint-kinds-5f1e:with-colon'
const BODY_SECRET = 'body-secret-mint-kinds-77aa'
const HMAC_KEY = 'hmac-key-mint-kinds-31c9'
const CLIENT_SECRET = 'client-secret-mint-kinds-c4d2'
const ACCESS_TOKEN = 'access-token-mint-kinds-9e0b'
const AWS_SECRET = 'aws-secret-mint-kinds-wJalrXUtnFEMI'
const AWS_SESSION = 'aws-session-mint-kinds-FQoGZXIvYXdz'
const ECHOED = 'echoed-secret-mint-kinds-0d6f'
const ENV = {
  PASSWORD,
  BODY_SECRET,
  HMAC_KEY,
  CLIENT_SECRET,
  AWS_SECRET,
  AWS_SESSION,
  ECHOED,
}

interface Received {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

let dir: string
let remove: () => Promise<void>
let proxy: Served
let origin: string
let hostPort: string
let upstream: Upstream

// Records every request with its body; /token answers as an OAuth token endpoint; /echo sends the
// Authorization it got back in a header and in the body, as a careless upstream might.
async function startRecorder() {
  upstream = await startUpstream({
    answer: (req, res) => {
      if (req.url === '/token') {
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 3600 }))
        return
      }
      if (req.url?.startsWith('/echo')) {
        const auth = req.headers.authorization ?? ''
        res.setHeader('x-echo', auth)
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ youSent: auth }))
        return
      }
      res.setHeader('content-type', 'application/json')
      res.end('{"ok":true}')
    },
  })
  origin = upstream.origin
  hostPort = upstream.authority
}

/** One request as the upstream received it, its body as text. */
const asReceived = (record: Recorded): Received => ({
  method: record.method,
  url: record.url,
  headers: record.headers,
  body: record.body.toString('utf8'),
})

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  await startRecorder()
  await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })
  proxy = await serve(['--keys', 'keys.json'], { cwd: dir })
}, 300_000)
afterAll(async () => {
  await proxy?.stop()
  await upstream?.close()
  await remove()
})

async function mint(extra: string[]): Promise<string> {
  const result = await keyhole(['mint', '--keys', 'keys.json', '--host', origin, '--ttl', '10m', ...extra], {
    cwd: dir,
    env: ENV,
  })
  expect(result.stderr).toBe('')
  expect(result.code).toBe(0)
  return result.stdout.trim()
}

/** Sends one request through the proxy and returns what the upstream recorded for it. */
async function through(
  token: string,
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
  url = proxy.url,
): Promise<{ response: Response; text: string; got: Received }> {
  const before = upstream.received.length
  const response = await fetch(`${url}/http/${hostPort}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'x-keyhole-token': token, ...init.headers },
    ...(init.body !== undefined && { body: init.body }),
  })
  const text = await response.text()
  expect(response.status, text).toBe(200)
  const got = upstream.received.slice(before).find((r) => r.url.startsWith(path.split('?')[0] as string))
  expect(got).toBeDefined()
  return { response, text, got: asReceived(got as Recorded) }
}

const json = (entry: object) => ['--inject', JSON.stringify(entry)]

describe('keyhole mint --basic / --inject, applied by keyhole serve', () => {
  it('--basic sends Authorization: Basic, the password split off at the first colon only', async () => {
    const token = await mint(['--basic', 'bot:${PASSWORD}'])
    const { got } = await through(token, '/basic')
    expect(got.headers.authorization).toBe(`Basic ${Buffer.from(`bot:${PASSWORD}`).toString('base64')}`)
  })

  it('--inject header, query and cookie entries', async () => {
    const token = await mint([
      ...json({ type: 'header', name: 'X-Api-Key', value: '${BODY_SECRET}' }),
      ...json({ type: 'query', name: 'key', value: '${HMAC_KEY}' }),
      ...json({ type: 'cookie', name: 'session', value: '${PASSWORD}' }),
    ])
    const { got } = await through(token, '/plain?a=1')
    expect(got.headers['x-api-key']).toBe(BODY_SECRET)
    expect(new URL(got.url, origin).searchParams.get('key')).toBe(HMAC_KEY)
    expect(got.headers.cookie).toBe(`session=${PASSWORD}`)
  })

  it('--inject body sets the field in the JSON body and leaves the rest alone', async () => {
    const token = await mint(json({ type: 'body', field: '/auth/api_key', value: '${BODY_SECRET}' }))
    const { got } = await through(token, '/body', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"auth":{},"n":12345678901234567890}',
    })
    expect(JSON.parse(got.body).auth.api_key).toBe(BODY_SECRET)
    expect(got.body).toContain('12345678901234567890')
    expect(got.headers['content-length']).toBe(String(Buffer.byteLength(got.body)))
  })

  it('--inject hmac signs the body the upstream received', async () => {
    const token = await mint(
      json({ type: 'hmac', name: 'X-Signature', key: '${HMAC_KEY}', prefix: 'sha256=' }),
    )
    const { got } = await through(token, '/hook', { method: 'POST', body: '{"event":"push"}' })
    const expected = createHmac('sha256', HMAC_KEY).update(got.body).digest('hex')
    expect(got.body).toBe('{"event":"push"}')
    expect(got.headers['x-signature']).toBe(`sha256=${expected}`)
  })

  it('--inject oauth2 fetches an access token and sends it as Bearer', async () => {
    const token = await mint(
      json({
        type: 'oauth2',
        tokenUrl: `${origin}/token`,
        clientId: 'agent',
        clientSecret: '${CLIENT_SECRET}',
      }),
    )
    const { got } = await through(token, '/api')
    expect(got.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`)
    const tokenRequest = upstream.received.find((r) => r.url === '/token')
    expect(tokenRequest?.headers.authorization).toBe(
      `Basic ${Buffer.from(`agent:${CLIENT_SECRET}`).toString('base64')}`,
    )
  })

  it('--inject aws-sigv4 re-signs the request (serve loads @keyhole/aws with no flag)', async () => {
    const token = await mint(
      json({
        type: 'aws-sigv4',
        accessKeyId: 'AKIDMINTKINDS',
        secretAccessKey: '${AWS_SECRET}',
        sessionToken: '${AWS_SESSION}',
        region: 'eu-west-1',
        service: 's3',
      }),
    )
    const { got } = await through(token, '/bucket/key.txt', {
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=forged' },
    })
    expect(got.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDMINTKINDS\/\d{8}\/eu-west-1\/s3\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    )
    expect(got.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/)
    expect(got.headers['x-amz-security-token']).toBe(AWS_SESSION)
    expect(got.headers.authorization).not.toContain(AWS_SECRET)
  })
})

describe('keyhole serve --scrub', () => {
  const echo = async (args: string[]) => {
    const served = await serve(['--keys', 'keys.json', ...args], { cwd: dir })
    try {
      const token = await mint(['--header', 'Authorization: Bearer ${ECHOED}'])
      const { response, text } = await through(token, '/echo', {}, served.url)
      return { header: response.headers.get('x-echo') ?? '', text, stderr: served.output().stderr }
    } finally {
      await served.stop()
    }
  }

  it('on (the default) masks the echoed credential in headers and body', async () => {
    const { header, text } = await echo([])
    expect(header).not.toContain(ECHOED)
    expect(text).not.toContain(ECHOED)
    expect(text).toContain('*'.repeat(ECHOED.length))
  })

  it('headers masks headers only', async () => {
    const { header, text, stderr } = await echo(['--scrub', 'headers'])
    expect(header).not.toContain(ECHOED)
    expect(text).toContain(ECHOED)
    expect(stderr).toContain('--scrub headers')
  })

  it('off passes the echo through, and warns', async () => {
    const { header, text, stderr } = await echo(['--scrub', 'off'])
    expect(header).toBe(`Bearer ${ECHOED}`)
    expect(text).toContain(ECHOED)
    expect(stderr).toContain('--scrub off')
  })

  it('refuses any other mode', async () => {
    const result = await keyhole(['serve', '--keys', 'keys.json', '--scrub', 'maybe'], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--scrub must be on, headers or off')
  })
})

describe('refusals name the flag, never the value', () => {
  const refused = async (extra: string[], expected: RegExp) => {
    const result = await keyhole(
      ['mint', '--keys', 'keys.json', '--host', origin, '--ttl', '10m', ...extra],
      { cwd: dir, env: ENV },
    )
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(expected)
    for (const secret of [PASSWORD, BODY_SECRET, HMAC_KEY, AWS_SECRET, 'raw-secret-in-argv'])
      expect(result.stderr).not.toContain(secret)
  }

  it('invalid JSON', () =>
    refused(
      ['--header', 'X-A: 1', '--inject', '{"type":"basic","password":"raw-secret-in-argv"'],
      /--inject #1 is not valid JSON/,
    ))

  it('JSON that is not one object', () =>
    refused(['--inject', '["raw-secret-in-argv"]'], /--inject #1 must be one JSON object/))

  it('an unknown type', () =>
    refused(
      [...json({ type: 'basic', username: 'u', password: 'p' }), ...json({ type: 'raw-secret-in-argv' })],
      /--inject #2: type is not a credential type/,
    ))

  it('a field invalid for its kind', () =>
    refused(
      json({ type: 'hmac', name: 'X-Sig', key: '${HMAC_KEY}', algorithm: 'raw-secret-in-argv' }),
      /--inject #1: algorithm/,
    ))

  it('a field the kind does not take (a misspelling)', () =>
    refused(
      json({ type: 'body', field: '/k', value: '${BODY_SECRET}', 'raw-secret-in-argv!': 'x' }),
      /--inject #1: a body entry takes no field \(field not shown\)/,
    ))

  it('a missing required field', () =>
    refused(
      json({ type: 'aws-sigv4', accessKeyId: 'AKID', region: 'us-east-1', service: 's3' }),
      /--inject #1: secretAccessKey must be a non-empty string/,
    ))

  it('an unset variable inside --inject names the variable only', () =>
    refused(json({ type: 'basic', username: 'u', password: '${NOPE}' }), /--inject #1 password: .*NOPE/))

  it('--basic without a colon', () => refused(['--basic', 'raw-secret-in-argv'], /--basic must look like/))

  it('two credentials writing one header, named by their flags', () =>
    refused(
      ['--basic', 'bot:${PASSWORD}', '--header', 'Authorization: Bearer ${BODY_SECRET}'],
      /--basic injects the same header as --header #1/,
    ))

  it('--help lists --basic and --inject', async () => {
    const result = await keyhole(['mint', '--help'])
    expect(result.stdout).toContain("--basic 'user:pass'")
    expect(result.stdout).toContain("--inject '<json>'")
    expect((await keyhole(['serve', '--help'])).stdout).toContain('--scrub')
  })
})
