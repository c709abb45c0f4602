import type { LookupAddress } from 'node:dns'
import { describe, expect, it } from 'vitest'
import { isKeyholeError } from '../errors.js'
import { parseAddressRanges } from '../proxy/address-ranges.js'
import { createGuardedLookup, type Lookup } from './guarded-lookup.js'

// A resolver with fixed answers, in dns.lookup's shape (single and all: true).
function fixed(answers: Record<string, LookupAddress[]>): Lookup {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    const found = answers[hostname]
    if (!found) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
      callback(error, '', 0)
      return
    }
    if (options.all) callback(null, found)
    else callback(null, found[0]?.address, found[0]?.family)
  }) as unknown as Lookup
}

function resolve(lookup: Lookup, host: string, all: boolean) {
  return new Promise<{ error: unknown; address: unknown }>((done) => {
    lookup(host, { all }, (error, address) => done({ error, address }))
  })
}

const answers = {
  'public.test': [{ address: '93.184.216.34', family: 4 }],
  'loopback.test': [{ address: '127.0.0.1', family: 4 }],
  'mixed.test': [
    { address: '93.184.216.34', family: 4 },
    { address: 'fd00::1', family: 6 },
  ],
  'mapped.test': [{ address: '::ffff:169.254.169.254', family: 6 }],
}

describe('createGuardedLookup', () => {
  const lookup = createGuardedLookup(fixed(answers))

  it.each([false, true])('passes public answers through (all: %s)', async (all) => {
    const { error, address } = await resolve(lookup, 'public.test', all)
    expect(error).toBeNull()
    expect(all ? address : [{ address, family: 4 }]).toEqual(answers['public.test'])
  })

  it.each([
    ['loopback.test', false],
    ['loopback.test', true],
    ['mixed.test', true],
    ['mapped.test', false],
  ])('refuses %s (all: %s) with host_not_allowed', async (host, all) => {
    const { error } = await resolve(lookup, host, all)
    expect(isKeyholeError(error, 'host_not_allowed')).toBe(true)
  })

  it('passes resolver errors through unchanged', async () => {
    const { error } = await resolve(lookup, 'missing.test', false)
    expect((error as NodeJS.ErrnoException).code).toBe('ENOTFOUND')
  })

  it('checks the real resolver too: localhost is refused', async () => {
    const { error } = await resolve(createGuardedLookup(), 'localhost', true)
    expect(isKeyholeError(error, 'host_not_allowed')).toBe(true)
  })

  it.each([
    ['loopback.test', ['127.0.0.0/8'], true],
    ['loopback.test', ['10.0.0.0/8', '::1'], false],
    ['mixed.test', ['fd00::/8'], true],
    ['mixed.test', ['fc00::/8'], false],
    ['mapped.test', ['169.254.0.0/16'], true],
    ['mapped.test', ['169.254.169.0/25'], false],
  ])('with ranges, %s passes only inside them (%j)', async (host, ranges, passes) => {
    const ranged = createGuardedLookup(fixed(answers), parseAddressRanges(ranges))
    // all: true, as Node's happy-eyeballs connect asks: every answer is judged.
    const { error } = await resolve(ranged, host, true)
    if (passes) expect(error).toBeNull()
    else expect(isKeyholeError(error, 'host_not_allowed')).toBe(true)
  })
})
