// The JWKS URL unreachable or misbehaving while minting: every failure is a KeyholeError
// `jwks_unavailable` (never a raw TypeError, never a hang past the timeout), no error names the
// credential being minted, failures are not cached, and minting works again once the JWKS is back.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { clearJwksCache, createOpener, isKeyholeError, mint, type PublicJwks } from '@keyhole/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testIssuer, testIssuers } from '../../packages/core/test/kit/issuer.js'
import { credential, leaks, observe } from '../adversarial/harness/secrets.js'
import { type Keys, makeKeys } from '../adversarial/harness/tokens.js'
import { freePort } from './relay.js'

type Behaviour = (req: IncomingMessage, res: ServerResponse) => void

let keys: Keys
let server: Server
let port: number
let behaviour: Behaviour
const sockets = new Set<Socket>()

beforeAll(async () => {
  keys = await makeKeys()
  server = createServer((req, res) => behaviour(req, res))
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  port = (server.address() as AddressInfo).port
})
afterAll(async () => {
  for (const socket of sockets) socket.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  expect(leaks()).toEqual([])
})

function grant(value: string) {
  return {
    hosts: ['api.example.com'],
    inject: [{ in: 'header' as const, name: 'Authorization', value: `Bearer ${value}` }],
    ttl: '1h',
  }
}

async function mintCode(url: string, timeout = '500ms'): Promise<string> {
  clearJwksCache()
  const value = credential('jwks')
  try {
    await mint(grant(value), { to: url, signWith: testIssuer, jwks: { timeout, cacheTtl: 0 } })
    return 'ok'
  } catch (error) {
    observe('mint-error', error)
    if (!isKeyholeError(error)) return `not a KeyholeError: ${String(error)}`
    expect(error.message).not.toContain(value)
    expect(error.message).not.toContain('/secret-path')
    return error.code
  }
}

const jwksPath = (query = '') => `http://127.0.0.1:${PORT()}/secret-path/jwks.json${query}`
const PORT = () => port

describe('mint({ to: jwksUrl }) when the JWKS cannot be had', () => {
  const cases: [string, Behaviour | 'closed-port'][] = [
    ['nothing listens on the port', 'closed-port'],
    ['the server resets the connection', (req) => req.socket.resetAndDestroy()],
    ['the server closes without answering', (req) => req.socket.end()],
    ['the server never answers (timeout)', () => {}],
    [
      'the server sends headers, then hangs',
      (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).write('{"keys":'),
    ],
    ['HTTP 500', (_req, res) => res.writeHead(500).end('oops')],
    ['HTTP 404', (_req, res) => res.writeHead(404).end()],
    [
      'a redirect to another host',
      (_req, res) => res.writeHead(302, { location: 'http://127.0.0.2/jwks.json' }).end(),
    ],
    ['not JSON', (_req, res) => res.writeHead(200).end('<html>hi</html>')],
    ['JSON without keys', (_req, res) => res.writeHead(200).end('{"kys":[]}')],
    ['keys not an array', (_req, res) => res.writeHead(200).end('{"keys":{"0":{}}}')],
    ['an empty key set', (_req, res) => res.writeHead(200).end('{"keys":[]}')],
    [
      'keys that are not keys',
      (_req, res) => res.writeHead(200).end('{"keys":[1,"x",null,{"kty":"oct","k":"AAAA"}]}'),
    ],
    [
      'a 10 MB body without Content-Length',
      (_req, res) => {
        res.writeHead(200)
        for (let i = 0; i < 160; i++) res.write('x'.repeat(65_536))
        res.end()
      },
    ],
    ['a lying Content-Length', (_req, res) => res.writeHead(200, { 'content-length': '100000000' }).end('{')],
    [
      'a reset mid-body',
      (req, res) => {
        res.writeHead(200, { 'content-length': '1000' })
        res.write('{"keys":[')
        setTimeout(() => req.socket.resetAndDestroy(), 20)
      },
    ],
  ]

  for (const [label, behave] of cases) {
    it(label, async () => {
      let url = jwksPath('?access_token=secret-path')
      if (behave === 'closed-port') url = `http://127.0.0.1:${await freePort()}/secret-path/jwks.json`
      else behaviour = behave
      const code = await mintCode(url)
      expect(['jwks_unavailable', 'invalid_key']).toContain(code)
    }, 20_000)
  }

  it('a key whose kid is not its thumbprint is refused, not used', async () => {
    const forged = { ...keys.keyring.publicJwks().keys[0]!, kid: 'chosen-by-an-attacker' }
    behaviour = (_req, res) => res.writeHead(200).end(JSON.stringify({ keys: [forged] }))
    expect(await mintCode(jwksPath())).not.toBe('ok')
  })

  it('50 concurrent mints during an outage all settle with jwks_unavailable', async () => {
    behaviour = () => {}
    const codes = await Promise.all(Array.from({ length: 50 }, () => mintCode(jwksPath(), '300ms')))
    expect(new Set(codes)).toEqual(new Set(['jwks_unavailable']))
  }, 20_000)

  it('once the JWKS is back, minting works (failures were not cached) and the token opens', async () => {
    behaviour = () => {}
    clearJwksCache()
    expect(await mintCode(jwksPath(), '300ms')).toBe('jwks_unavailable')
    const jwks: PublicJwks = keys.keyring.publicJwks()
    behaviour = (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks))
    const token = await mint(grant(credential('back')), {
      to: jwksPath(),
      signWith: testIssuer,
      jwks: { timeout: '2s' },
    })
    const opened = await createOpener({ keyring: keys.keyring, issuers: testIssuers }).open(token)
    expect(opened.hosts).toEqual(['api.example.com'])
  })
})
