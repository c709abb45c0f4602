// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is literal text that keyhole itself expands
// keyhole inspect --keys masks every secret field of every credential kind and shows the rest.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildCli, keyhole, tempDir } from './cli.js'

const SECRETS = {
  HEADER_VALUE: 'secret-header-value-inspect-1a',
  QUERY_VALUE: 'secret-query-value-inspect-2b',
  COOKIE_VALUE: 'secret-cookie-value-inspect-3c',
  BASIC_PASSWORD: 'secret-basic-password-inspect-4d',
  BODY_VALUE: 'secret-body-value-inspect-5e',
  HMAC_KEY: 'secret-hmac-key-inspect-6f',
  CLIENT_SECRET: 'secret-client-secret-inspect-7a',
  REFRESH_TOKEN: 'secret-refresh-token-inspect-8b',
  AWS_SECRET: 'secret-aws-secret-access-key-inspect-9c',
  AWS_SESSION: 'secret-aws-session-token-inspect-0d',
}
let dir: string
let remove: () => Promise<void>

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
  await keyhole(['keygen', '--out', 'keys.json'], { cwd: dir })
}, 300_000)
afterAll(() => remove())

const inject = (entry: object) => ['--inject', JSON.stringify(entry)]

// basic, oauth2 and aws-sigv4 all write Authorization, so one token cannot hold them all.
const tokens: Record<string, string[]> = {
  'header, query, cookie, basic, body, hmac': [
    '--header',
    'X-Api-Key: ${HEADER_VALUE}',
    '--query',
    'api_key=${QUERY_VALUE}',
    '--cookie',
    'session=${COOKIE_VALUE}',
    '--basic',
    'bot:${BASIC_PASSWORD}',
    ...inject({ type: 'body', field: '/auth/key', value: '${BODY_VALUE}' }),
    ...inject({ type: 'hmac', name: 'X-Signature', key: '${HMAC_KEY}', prefix: 'sha256=' }),
  ],
  oauth2: inject({
    type: 'oauth2',
    tokenUrl: 'https://auth.example.com/token',
    clientId: 'agent',
    clientSecret: '${CLIENT_SECRET}',
    refreshToken: '${REFRESH_TOKEN}',
    scope: 'read',
  }),
  'aws-sigv4': inject({
    type: 'aws-sigv4',
    accessKeyId: 'AKIDINSPECT',
    secretAccessKey: '${AWS_SECRET}',
    sessionToken: '${AWS_SESSION}',
    region: 'us-east-1',
    service: 's3',
  }),
}

it.each(Object.entries(tokens))('masks every secret of %s, and shows where it goes', async (_, args) => {
  const minted = await keyhole(
    ['mint', '--keys', 'keys.json', '--host', 'api.example.com', '--ttl', '1h', ...args],
    {
      cwd: dir,
      env: SECRETS,
    },
  )
  expect(minted.stderr).toBe('')
  const result = await keyhole(['inspect', '-', '--keys', 'keys.json'], { cwd: dir, input: minted.stdout })
  expect(result.code).toBe(0)
  for (const secret of Object.values(SECRETS)) expect(result.stdout + result.stderr).not.toContain(secret)
  const { claims } = JSON.parse(result.stdout)
  for (const entry of claims.inject as Record<string, unknown>[]) {
    for (const field of [
      'value',
      'password',
      'key',
      'clientSecret',
      'refreshToken',
      'secretAccessKey',
      'sessionToken',
    ])
      if (field in entry) expect(entry[field]).toBe('***')
  }
  const shown = JSON.stringify(claims.inject)
  if (claims.inject.some((e: { type?: string }) => e.type === 'basic')) {
    expect(shown).toContain('"username":"bot"')
    expect(shown).toContain('"field":"/auth/key"')
    expect(shown).toContain('"prefix":"sha256="')
  }
  if (shown.includes('oauth2')) expect(shown).toContain('"clientId":"agent"')
  if (shown.includes('aws-sigv4')) expect(shown).toContain('"accessKeyId":"AKIDINSPECT"')
})
