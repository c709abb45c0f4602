import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DemoReport, runDemo } from '../src/demo.mjs'

let report: DemoReport
const logged: string[] = []

beforeAll(async () => {
  report = await runDemo({ log: (line) => logged.push(line) })
})
afterAll(() => {
  logged.length = 0
})

const step = (name: string) =>
  report.child.steps.find((entry) => entry.step === name) as Record<string, unknown>

describe('examples/sandbox-demo', () => {
  it('the child ran and reported every step', () => {
    expect(report.child.stderr).toBe('')
    expect(report.child.code).toBe(0)
    expect(report.child.steps.map((entry) => entry.step)).toEqual([
      'environment',
      'api call',
      'echo attempt',
      'exfiltration via proxy',
      'token sent to attacker',
    ])
  })

  it('the API received the real credential and answered the child', () => {
    expect(step('api call')).toMatchObject({ status: 200, body: { login: 'octocat' } })
    // Two calls to /user: the child's, and later the attacker's replay of the stolen token.
    const calls = report.apiRequests.filter((request) => request.url === '/user')
    expect(calls).toHaveLength(2)
    for (const call of calls) {
      expect(call.headers.authorization).toBe(`Bearer ${report.credential}`)
      expect(call.headers['x-keyhole-token']).toBeUndefined()
    }
    expect(report.apiRequests).toHaveLength(2)
  })

  it('the child never saw the credential: not in its environment, not in anything it printed', () => {
    const env = step('environment').env as Record<string, string>
    expect(Object.keys(env).sort()).toEqual(
      ['ATTACKER_URL', 'API_URL', 'KEYHOLE_PROXY', 'KEYHOLE_TOKEN', 'PATH'].sort(),
    )
    expect(JSON.stringify(env)).not.toContain(report.credential)
    expect(report.child.stdout).not.toContain(report.credential)
    expect(report.child.stderr).not.toContain(report.credential)
    // The token it held does not contain the credential in readable form either.
    expect(report.token).not.toContain(report.credential)
    expect(Buffer.from(report.token.split('.')[0] as string, 'base64url').toString()).not.toContain(
      report.credential,
    )
  })

  it('reading the credential back through a careless endpoint is refused by the path policy', () => {
    expect(step('echo attempt')).toEqual({ step: 'echo attempt', status: 403, error: 'path_not_allowed' })
    expect(report.apiRequests.some((request) => request.url === '/echo-headers')).toBe(false)
  })

  it('exfiltration through the proxy to another host is refused, and the attacker never gets the credential', () => {
    expect(step('exfiltration via proxy')).toEqual({
      step: 'exfiltration via proxy',
      status: 403,
      error: 'host_not_allowed',
    })
    // The only thing that reached the attacker is what the child sent it directly: the token.
    expect(report.attackerReceived).toHaveLength(1)
    expect(report.attackerReceived[0]?.body).toBe(report.token)
    expect(JSON.stringify(report.attackerReceived)).not.toContain(report.credential)
  })

  it('a stolen token works only through the proxy within its policy, and stops once revoked', () => {
    expect(report.replay.beforeRevoke).toBe(200)
    expect(report.replay.afterRevoke).toBe(403)
    expect(report.replay.afterRevokeCode).toBe('token_revoked')
  })

  it('nothing the proxy or the demo logged contains the credential or the token', () => {
    const text = JSON.stringify(report.proxyEvents) + logged.join('\n')
    expect(text).not.toContain(report.credential)
    expect(text).not.toContain(report.token)
    expect(report.proxyEvents.map((event) => event.outcome)).toEqual(
      expect.arrayContaining(['ok', 'path_not_allowed', 'host_not_allowed', 'token_revoked']),
    )
  })
})
