// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands
// keyhole serve --metrics: the built binary, a real upstream on 127.0.0.1, tokens minted by the CLI.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, type Upstream } from '../../core/test/kit/index.js'
import { buildCli, keyhole, type Served, serve, tempDir } from './cli.js'

const CREDENTIAL = 'sk-live-metrics-test-credential-2d8e'
const ADMIN = 'admin-token-metrics-test-0123456789abcdef'
const QUERY_VALUE = 'query-value-metrics-6a1f'
let dir: string
let remove: () => Promise<void>
let upstream: Upstream
const running: Served[] = []

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  upstream = await startUpstream()
  await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })
}, 300_000)
afterEach(async () => {
  await Promise.all(running.splice(0).map((served) => served.stop()))
})
afterAll(async () => {
  await upstream?.close()
  await remove?.()
})

async function start(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const served = await serve(['--keys', 'keys.json', ...args], { cwd: dir, env })
  running.push(served)
  return served
}

async function mintFor(url: string): Promise<string> {
  const result = await keyhole(
    [
      'mint',
      '--jwks',
      `${url}/.well-known/jwks.json`,
      '--issuer-key',
      'keys.json',
      '--host',
      upstream.origin,
      '--header',
      'Authorization: Bearer ${API_KEY}',
      '--ttl',
      '10m',
      '--sub',
      'metrics-test',
    ],
    { cwd: dir, env: { API_KEY: CREDENTIAL } },
  )
  expect(result.code).toBe(0)
  return result.stdout.trim()
}

async function jtiOf(token: string): Promise<string> {
  const result = await keyhole(['inspect', '-', '--keys', 'keys.json'], { cwd: dir, input: token })
  return JSON.parse(result.stdout).claims.jti
}

// Two requests that reach the upstream (one opens the token, one finds it cached), one refused
// target the sandbox named itself, one without a token; waits until all four are logged.
async function traffic(served: Served, token: string): Promise<void> {
  const via = (target: string, headers: Record<string, string>) =>
    fetch(`${served.url}/${target}`, { headers }).then(async (response) => {
      await response.arrayBuffer()
      return response.status
    })
  const withToken = { 'x-keyhole-token': token }
  expect(await via(`http/${upstream.authority}/private/report?q=${QUERY_VALUE}`, withToken)).toBe(200)
  expect(await via(`http/${upstream.authority}/private/again`, withToken)).toBe(200)
  expect(await via('https/sandbox-chosen.example/collect', withToken)).toBe(403)
  expect(await via(`http/${upstream.authority}/private/none`, {})).toBe(401)
  await served.waitFor(/ 401 missing_token GET /)
}

const scrape = (url: string, headers: Record<string, string> = {}) => fetch(`${url}/metrics`, { headers })

/** The value of the sample `name{labels}` (labels in the order prom-client writes them). */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

describe('keyhole serve --metrics', () => {
  it('refuses to start without an admin token unless --metrics-public', async () => {
    const result = await keyhole(['serve', '--keys', 'keys.json', '--port', '0', '--metrics'], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--metrics needs --admin-token-env <VAR>')
    expect(result.stderr).toContain('--metrics-public')
    expect(result.stdout).not.toContain('listening on')
  })

  it('counts requests behind the admin token, with bounded labels and no secret', async () => {
    const served = await start(['--metrics', '--admin-token-env', 'ADMIN_TOKEN'], { ADMIN_TOKEN: ADMIN })
    expect(await served.waitFor(/^ {2}metrics /)).toBe(
      `  metrics     ${served.url}/metrics (admin token from $ADMIN_TOKEN)`,
    )
    const token = await mintFor(served.url)
    await traffic(served, token)

    const anonymous = await scrape(served.url)
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('x-keyhole-error')).toBe('unauthorized')
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer')
    expect(await anonymous.text()).not.toContain('keyhole_requests_total')
    expect(
      (await scrape(served.url, { authorization: 'Bearer not-the-admin-token-0123456789abcdef' })).status,
    ).toBe(401)
    // The keyhole token is not the admin token either.
    expect((await scrape(served.url, { authorization: `Bearer ${token}` })).status).toBe(401)

    const response = await scrape(served.url, { authorization: `Bearer ${ADMIN}` })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await response.text()
    expect(sample(text, 'keyhole_requests_total', 'outcome="ok"')).toBe(2)
    expect(sample(text, 'keyhole_requests_total', 'outcome="host_not_allowed"')).toBe(1)
    expect(sample(text, 'keyhole_requests_total', 'outcome="missing_token"')).toBe(1)
    expect(sample(text, 'keyhole_opens_total')).toBe(1)
    // The refused target was checked after the token opened from the cache.
    expect(sample(text, 'keyhole_cache_hits_total')).toBe(2)
    expect(sample(text, 'keyhole_revocation_errors_total')).toBe(0)
    expect(sample(text, 'keyhole_scrubbed_total')).toBe(0)
    expect(
      sample(
        text,
        'keyhole_request_duration_seconds_count',
        'method="GET",status="200",scheme="http",outcome="ok"',
      ),
    ).toBe(2)
    expect(
      sample(
        text,
        'keyhole_request_duration_seconds_count',
        'method="GET",status="403",scheme="https",outcome="host_not_allowed"',
      ),
    ).toBe(1)
    expect(
      sample(text, 'keyhole_upstream_duration_seconds_count', 'host="127.0.0.1",status="200",outcome="ok"'),
    ).toBe(2)
    expect(
      sample(text, 'keyhole_upstream_duration_seconds_sum', 'host="127.0.0.1",status="200",outcome="ok"'),
    ).toBeGreaterThan(0)
    // Only authorized targets are timed upstream, so only their hosts become labels.
    expect(text.match(/^keyhole_upstream_duration_seconds_count\{.*$/gm)).toHaveLength(1)
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0)

    const jti = await jtiOf(token)
    for (const secret of [
      token,
      CREDENTIAL,
      ADMIN,
      jti,
      QUERY_VALUE,
      'metrics-test',
      '/private',
      'sandbox-chosen.example',
    ])
      expect(text).not.toContain(secret)
  })

  it('serves /metrics to anyone with --metrics-public', async () => {
    const served = await start(['--metrics-public'])
    expect(await served.waitFor(/^ {2}metrics /)).toBe(`  metrics     ${served.url}/metrics (public)`)
    const token = await mintFor(served.url)
    await traffic(served, token)
    const response = await scrape(served.url)
    expect(response.status).toBe(200)
    // A wrong method is the management routes' 404 with Allow, not the proxy's bad_target.
    const posted = await fetch(`${served.url}/metrics`, { method: 'POST' })
    expect(posted.status).toBe(404)
    expect(posted.headers.get('x-keyhole-error')).toBe('not_found')
    expect(posted.headers.get('allow')).toBe('GET, HEAD')
    const text = await response.text()
    expect(sample(text, 'keyhole_requests_total', 'outcome="ok"')).toBe(2)
    for (const secret of [token, CREDENTIAL, QUERY_VALUE, 'sandbox-chosen.example'])
      expect(text).not.toContain(secret)
  })

  it('limits wrong admin tokens on /metrics together with the admin routes (429, Retry-After)', async () => {
    const served = await start(['--metrics', '--admin-token-env', 'ADMIN_TOKEN'], { ADMIN_TOKEN: ADMIN })
    const wrong = { authorization: 'Bearer not-the-admin-token-0123456789abcdef' }
    // Five guesses at /revoke, five at /metrics: the budget of ten is one, wherever they are made.
    for (let i = 0; i < 5; i++) {
      const revoke = await fetch(`${served.url}/revoke`, { method: 'POST', headers: wrong, body: '{}' })
      expect(revoke.status).toBe(401)
      await revoke.arrayBuffer()
      expect((await scrape(served.url, wrong)).status).toBe(401)
    }
    const limited = await scrape(served.url, wrong)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('x-keyhole-error')).toBe('rate_limited')
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    const revokeLimited = await fetch(`${served.url}/revoke`, { method: 'POST', headers: wrong, body: '{}' })
    expect(revokeLimited.status).toBe(429)
    // The right token is never throttled.
    expect((await scrape(served.url, { authorization: `Bearer ${ADMIN}` })).status).toBe(200)
    const { stdout, stderr } = served.output()
    expect(`${stdout}${stderr}`).not.toContain(ADMIN)
  })

  it('has no /metrics route without --metrics', async () => {
    const served = await start([])
    const response = await scrape(served.url)
    expect(response.status).toBe(404)
    expect(response.headers.get('x-keyhole-error')).toBe('not_found')
    expect(await response.text()).not.toContain('keyhole_requests_total')
  })
})
