import { describe, expect, it } from 'vitest'
import { isKeyholeError } from '../errors.js'
import { parseAddressRanges } from './address-ranges.js'

describe('parseAddressRanges', () => {
  it('matches IPv4 ranges by prefix, ignoring host bits in the network', () => {
    const ranges = parseAddressRanges(['10.1.2.3/16', '192.168.7.7', '172.16.0.0/12'])
    expect(ranges.has('10.1.0.0')).toBe(true)
    expect(ranges.has('10.1.255.255')).toBe(true)
    expect(ranges.has('10.2.0.0')).toBe(false)
    expect(ranges.has('192.168.7.7')).toBe(true)
    expect(ranges.has('192.168.7.8')).toBe(false)
    expect(ranges.has('172.31.255.1')).toBe(true)
    expect(ranges.has('172.32.0.1')).toBe(false)
    expect(ranges.ranges).toEqual(['10.1.2.3/16', '192.168.7.7', '172.16.0.0/12'])
  })

  it('matches IPv6 ranges, bracketed or not, and judges IPv4-mapped addresses as IPv4', () => {
    const ranges = parseAddressRanges(['fd00::/8', '[fe80::]/10', '2001:db8:0:1::/64', '127.0.0.0/8'])
    expect(ranges.has('fd12:3456::1')).toBe(true)
    expect(ranges.has('[fdff::1]')).toBe(true)
    expect(ranges.has('fc00::1')).toBe(false)
    expect(ranges.has('febf::1')).toBe(true)
    expect(ranges.has('fec0::1')).toBe(false)
    expect(ranges.has('2001:db8:0:1:ffff::1')).toBe(true)
    expect(ranges.has('2001:db8:0:2::1')).toBe(false)
    expect(ranges.has('::ffff:127.0.0.1')).toBe(true)
    expect(ranges.has('[::ffff:7f00:1]')).toBe(true)
    expect(ranges.has('::1')).toBe(false)
    expect(ranges.has('not-an-address')).toBe(false)
  })

  it('treats /0 as everything of its family', () => {
    expect(parseAddressRanges(['0.0.0.0/0']).has('169.254.169.254')).toBe(true)
    expect(parseAddressRanges(['0.0.0.0/0']).has('::1')).toBe(false)
    expect(parseAddressRanges(['::/0']).has('::1')).toBe(true)
  })

  it.each([
    '10.0.0.0/33',
    '::/129',
    '10.0.0.0/',
    '10.0.0.0/08',
    '10.0.0.0/-1',
    '010.0.0.0/8',
    '10.0.0/8',
    'localhost',
    '',
    'fe80::1%eth0/64',
    '10.0.0.0/8 ',
    '1:2:3:4:5:6:7:8:9/64',
  ])('refuses %j with bad_request', (text) => {
    let error: unknown
    try {
      parseAddressRanges([text])
    } catch (caught) {
      error = caught
    }
    expect(isKeyholeError(error, 'bad_request')).toBe(true)
  })

  it('refuses a list that is not a list of strings', () => {
    expect(() => parseAddressRanges('10.0.0.0/8' as never)).toThrow(/CIDR/)
    expect(() => parseAddressRanges([8 as never])).toThrow(/CIDR/)
  })
})
