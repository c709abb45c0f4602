import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isKeyholeError, KeyholeError } from '../errors.js'
import {
  addressKey,
  checkTargetAddress,
  grantNamesAddress,
  isLocalHostname,
  isPrivateAddress,
  parseIpv4,
  parseIpv6,
} from './address-guard.js'
import { type AddressRanges, parseAddressRanges } from './address-ranges.js'

describe('isPrivateAddress', () => {
  it.each([
    '0.0.0.0',
    '0.1.2.3',
    '10.0.0.1',
    '10.255.255.255',
    '100.64.0.0',
    '100.127.255.255',
    '127.0.0.1',
    '127.255.255.254',
    '169.254.169.254',
    '172.16.0.0',
    '172.31.255.255',
    '192.0.0.8',
    '192.0.2.1',
    '192.88.99.1',
    '192.168.1.1',
    '198.18.0.0',
    '198.19.255.255',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '[::1]',
    '::ffff:127.0.0.1',
    '[::ffff:7f00:1]',
    '::ffff:10.1.2.3',
    '::ffff:0:169.254.169.254',
    '::127.0.0.1',
    '64:ff9b::a00:1',
    '64:ff9b:1::1',
    '2002:7f00:1::1',
    '2002:c0a8:101::',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fe80::1%eth0',
    'fec0::1',
    'ff02::1',
    '100::1',
    '2001::1',
    '2001:db8::1',
    '3fff::1',
    '4000::1',
    'not-an-address',
    '1.2.3',
    '01.2.3.4',
  ])('%s is refused', (address) => {
    expect(isPrivateAddress(address)).toBe(true)
  })

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '100.63.255.255',
    '100.128.0.0',
    '140.82.112.3',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.255',
    '192.169.0.1',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '2606:4700:4700::1111',
    '[2a00:1450:4001:80b::200e]',
    '2001:4860:4860::8888',
  ])('%s is public', (address) => {
    expect(isPrivateAddress(address)).toBe(false)
  })

  it('judges an IPv4-mapped IPv6 address exactly like the IPv4 address', () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        const value = parseIpv4(v4) as number
        const hex = `${(value >>> 16).toString(16)}:${(value & 0xffff).toString(16)}`
        expect(isPrivateAddress(`::ffff:${v4}`)).toBe(isPrivateAddress(v4))
        expect(isPrivateAddress(`[::ffff:${hex}]`)).toBe(isPrivateAddress(v4))
      }),
    )
  })
})

describe('parseIpv6', () => {
  it('agrees with the WHATWG URL parser on every spelling of random addresses', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (groups) => {
        const full = groups.map((g) => g.toString(16)).join(':')
        const canonical = new URL(`http://[${full}]/`).hostname
        expect(parseIpv6(full)).toEqual(groups)
        expect(parseIpv6(canonical)).toEqual(groups)
        expect(parseIpv6(full.toUpperCase())).toEqual(groups)
      }),
    )
  })

  it('reads dotted tails and zones, and refuses malformed input', () => {
    expect(parseIpv6('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x102, 0x304])
    expect(parseIpv6('::1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0, 0x102, 0x304])
    expect(parseIpv6('1:2:3:4:5:6:1.2.3.4')).toEqual([1, 2, 3, 4, 5, 6, 0x102, 0x304])
    expect(parseIpv6('fe80::1%en0')).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 1])
    for (const bad of [
      ':::',
      '1::2::3',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      '::g',
      '[::1',
      'a.b',
      '::1.2.3',
    ]) {
      expect(parseIpv6(bad), bad).toBeUndefined()
    }
  })
})

describe('parseIpv4', () => {
  it('reads only canonical dotted quads', () => {
    expect(parseIpv4('192.168.0.1')).toBe(0xc0a80001)
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '0x7f.0.0.1', '', '1..2.3']) {
      expect(parseIpv4(bad), bad).toBeUndefined()
    }
  })

  it('agrees with the URL parser for random addresses', () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        expect(addressKey(new URL(`http://${v4}/`).hostname)).toBe(addressKey(v4))
      }),
    )
  })
})

describe('isLocalHostname', () => {
  it.each(['localhost', 'LOCALHOST', 'api.localhost', 'printer.local', 'db.internal', 'nas.home.arpa'])(
    '%s is local',
    (name) => expect(isLocalHostname(name)).toBe(true),
  )
  it.each(['api.github.com', 'localhost.example.com', 'internal.example.com'])('%s is not', (name) =>
    expect(isLocalHostname(name)).toBe(false),
  )
})

describe('checkTargetAddress', () => {
  const signed = (hosts: string[]) => ({ hosts, issuerKid: 'issuer-kid' })
  const refused = (host: string, hosts: string[], allow: boolean | AddressRanges = false) => {
    try {
      checkTargetAddress(host, signed(hosts), allow)
    } catch (error) {
      return isKeyholeError(error, 'host_not_allowed')
    }
    return false
  }

  it('lets public addresses and ordinary names through, handing the operator allowance on', () => {
    expect(checkTargetAddress('140.82.112.3', { hosts: ['140.82.112.3'] }, false)).toBe(false)
    expect(checkTargetAddress('api.github.com', { hosts: ['api.github.com'] }, false)).toBe(false)
    const ranges = parseAddressRanges(['10.1.0.0/16'])
    // A name may resolve into the ranges: the forwarder gets them to check what it dials.
    expect(checkTargetAddress('svc.example.com', { hosts: ['svc.example.com'] }, ranges)).toBe(ranges)
  })

  it('refuses private literals unless a signed grant names them literally', () => {
    expect(refused('127.0.0.1', ['*.example.com'])).toBe(true)
    expect(refused('169.254.169.254', ['http://169.254.169.25'])).toBe(true)
    expect(checkTargetAddress('127.0.0.1', signed(['http://127.0.0.1:8080']))).toBe(true)
    expect(checkTargetAddress('[::1]', signed(['http://[::1]:8080']))).toBe(true)
    expect(checkTargetAddress('[::ffff:7f00:1]', signed(['[::ffff:127.0.0.1]']))).toBe(true)
    expect(checkTargetAddress('10.0.0.1', { hosts: ['api.example.com'] }, true)).toBe(true)
  })

  it('never lets an unsigned grant reach a private address by naming it', () => {
    const hosts = ['http://169.254.169.254', 'http://127.0.0.1:8080', 'http://[::1]:8080', 'http://10.0.0.5']
    for (const host of ['169.254.169.254', '127.0.0.1', '[::1]', '10.0.0.5', '[::ffff:127.0.0.1]']) {
      expect(() => checkTargetAddress(host, { hosts }), host).toThrow(/neither a signed token nor the proxy/)
    }
    // An issuerKid that is not a string is no signature.
    expect(() => checkTargetAddress('127.0.0.1', { hosts, issuerKid: 1 } as never)).toThrow(KeyholeError)
    expect(checkTargetAddress('127.0.0.1', { hosts }, true)).toBe(true)
    expect(checkTargetAddress('140.82.112.3', { hosts: ['140.82.112.3'] })).toBe(false)
  })

  it('lets private literals inside the operator ranges through, and only those', () => {
    const ranges = parseAddressRanges(['10.1.0.0/16', '127.0.0.1', 'fd00::/8'])
    const unsigned = { hosts: ['http://10.2.0.1'] }
    expect(checkTargetAddress('10.1.200.3', unsigned, ranges)).toBe(true)
    expect(checkTargetAddress('127.0.0.1', unsigned, ranges)).toBe(true)
    expect(checkTargetAddress('[fd00::5]', unsigned, ranges)).toBe(true)
    expect(checkTargetAddress('[::ffff:10.1.0.9]', unsigned, ranges)).toBe(true)
    for (const host of ['10.2.0.1', '127.0.0.2', '169.254.169.254', '[::1]', '[fe80::1]']) {
      expect(() => checkTargetAddress(host, unsigned, ranges), host).toThrow(KeyholeError)
    }
    // A signed grant naming an address outside the ranges still reaches it.
    expect(checkTargetAddress('10.2.0.1', signed(['http://10.2.0.1']), ranges)).toBe(true)
  })

  it('refuses numeric host spellings a URL parser turns into private addresses', () => {
    for (const host of ['2130706433', '0x7f000001', '127.1', '0177.0.0.1']) {
      expect(refused(host, ['api.example.com']), host).toBe(true)
    }
  })

  it('refuses local-only names unless private addresses are allowed', () => {
    expect(refused('localhost', ['http://localhost:3000'])).toBe(true)
    expect(refused('svc.internal', ['svc.internal'])).toBe(true)
    expect(checkTargetAddress('localhost', { hosts: ['localhost'] }, true)).toBe(true)
    // With ranges the name passes here; the forwarder checks what it resolves to against them.
    const ranges = parseAddressRanges(['127.0.0.0/8'])
    expect(checkTargetAddress('localhost', { hosts: ['localhost'] }, ranges)).toBe(ranges)
  })

  it('grantNamesAddress never treats a wildcard or a name as naming an address', () => {
    expect(grantNamesAddress({ hosts: ['*.0.0.1', 'localhost', 'https://127.0.0.2'] }, '127.0.0.1')).toBe(
      false,
    )
    expect(grantNamesAddress({ hosts: ['https://127.0.0.1'] }, '127.0.0.1')).toBe(true)
  })
})
