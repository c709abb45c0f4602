// The CONNECT address check on its own: which authorities it refuses before any TLS, with a
// resolver that answers from a table (names a test can make resolve anywhere). End-to-end CONNECTs
// are in hostile.test.ts.
import type { LookupFunction } from 'node:net'
import { describe, expect, it } from 'vitest'
import { isKeyholeError } from '../../errors.js'
import type { Grant } from '../../types.js'
import { checkConnectAddress, compileConnectAddressRule } from './connect-address.js'

const TABLE: Record<string, string[]> = {
  'public.test': ['140.82.112.3'],
  'loopback.test': ['127.0.0.1'],
  'lan.test': ['10.1.2.3'],
  'mixed.test': ['140.82.112.3', '169.254.169.254'],
}
const resolved: string[] = []
const lookup: LookupFunction = (hostname, options, callback) => {
  resolved.push(hostname)
  const addresses = TABLE[hostname]
  const done = callback as (error: NodeJS.ErrnoException | null, address: unknown, family?: number) => void
  if (addresses === undefined) {
    done(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '')
  } else if (options.all) {
    done(
      null,
      addresses.map((address) => ({ address, family: 4 })),
    )
  } else done(null, addresses[0], 4)
}

const grant = (hosts: string[], signed: boolean) =>
  ({ hosts, jti: 'j', iat: 0, exp: 1, ...(signed && { issuerKid: 'issuer' }) }) as unknown as Grant

async function refusal(check: Promise<void>): Promise<string | undefined> {
  try {
    await check
    return undefined
  } catch (error) {
    if (isKeyholeError(error)) return error.code
    throw error
  }
}

describe('checkConnectAddress', () => {
  const strict = compileConnectAddressRule(undefined, lookup)

  it('refuses a name that resolves to a private address, even one among public ones', async () => {
    expect(await refusal(checkConnectAddress('loopback.test', undefined, strict))).toBe('host_not_allowed')
    expect(await refusal(checkConnectAddress('mixed.test', undefined, strict))).toBe('host_not_allowed')
    expect(await refusal(checkConnectAddress('public.test', undefined, strict))).toBeUndefined()
  })

  it('refuses a local-only name without resolving it', async () => {
    resolved.length = 0
    expect(await refusal(checkConnectAddress('localhost', undefined, strict))).toBe('host_not_allowed')
    expect(await refusal(checkConnectAddress('db.internal', undefined, strict))).toBe('host_not_allowed')
    expect(resolved).toEqual([])
  })

  it('leaves a name that does not resolve to the engine', async () => {
    expect(await refusal(checkConnectAddress('nowhere.test', undefined, strict))).toBeUndefined()
  })

  it('judges a private IP literal with the opened grant: signed and naming it passes, else refused', async () => {
    const named = ['127.0.0.1:8443', '[::1]:8443']
    for (const host of ['127.0.0.1', '[::1]']) {
      expect(await refusal(checkConnectAddress(host, grant(named, true), strict))).toBeUndefined()
      expect(await refusal(checkConnectAddress(host, grant(named, false), strict))).toBe('host_not_allowed')
      expect(await refusal(checkConnectAddress(host, grant(['*.example.com'], true), strict))).toBe(
        'host_not_allowed',
      )
    }
    expect(await refusal(checkConnectAddress('140.82.112.3', grant([], false), strict))).toBeUndefined()
  })

  it('leaves a private IP literal to the engine when no grant was opened (no opener)', async () => {
    expect(await refusal(checkConnectAddress('10.0.0.1', undefined, strict))).toBeUndefined()
  })

  it('lets through what the operator allows: everything, or addresses inside its ranges', async () => {
    const all = compileConnectAddressRule(true, lookup)
    resolved.length = 0
    for (const host of ['loopback.test', 'localhost', '169.254.169.254']) {
      expect(await refusal(checkConnectAddress(host, grant([], false), all))).toBeUndefined()
    }
    expect(resolved).toEqual([])
    const lan = compileConnectAddressRule(['10.1.0.0/16'], lookup)
    expect(await refusal(checkConnectAddress('lan.test', undefined, lan))).toBeUndefined()
    expect(await refusal(checkConnectAddress('10.1.9.9', grant([], false), lan))).toBeUndefined()
    expect(await refusal(checkConnectAddress('loopback.test', undefined, lan))).toBe('host_not_allowed')
    expect(await refusal(checkConnectAddress('10.2.0.1', grant([], false), lan))).toBe('host_not_allowed')
  })

  it('throws bad_request for an allowPrivateAddresses that is not true, false or CIDR ranges', () => {
    expect(() => compileConnectAddressRule(['not a range'], lookup)).toThrow(/CIDR/)
    expect(() => compileConnectAddressRule('yes' as unknown as boolean, lookup)).toThrow(/CIDR/)
  })
})
