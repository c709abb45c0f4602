import { KeyholeError } from '../errors.js'
import { type PrivateAddressPermit, parseIpv4, parseIpv6 } from './address-guard.js'

/**
 * A set of IP address ranges the operator lets requests reach although they are private
 * (`allowPrivateAddresses: ['10.1.0.0/16', 'fd00::/8']`), compiled once. IPv4-mapped IPv6
 * addresses (`::ffff:10.1.2.3`) are judged as the IPv4 address they reach.
 */
export interface AddressRanges {
  /** True when `address` (an IP literal; IPv6 with or without brackets) lies in one of the ranges. */
  has(address: string): boolean
  /** The ranges as given, for messages and logs. */
  readonly ranges: readonly string[]
}

interface V6Range {
  readonly groups: readonly number[]
  readonly bits: number
}

const PREFIX = /^(?:0|[1-9]\d{0,2})$/

function invalid(text: unknown): KeyholeError {
  const shown = typeof text === 'string' ? JSON.stringify(text.slice(0, 60)) : typeof text
  return new KeyholeError(
    'bad_request',
    `allowPrivateAddresses: ${shown} is not a CIDR range (write 10.0.0.0/8, fd00::/8, or one address)`,
  )
}

function v4Mask(bits: number): number {
  return bits === 0 ? 0 : bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0
}

function inV6Range(groups: readonly number[], range: V6Range): boolean {
  let bits = range.bits
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff
    if (((groups[i] as number) & mask) !== ((range.groups[i] as number) & mask)) return false
  }
  return true
}

// ::ffff:a.b.c.d reaches a.b.c.d: judge it by the IPv4 ranges, as the address guard does.
function mappedV4(groups: readonly number[]): number | undefined {
  for (let i = 0; i < 5; i++) if (groups[i] !== 0) return undefined
  if (groups[5] !== 0xffff) return undefined
  return (((groups[6] as number) << 16) >>> 0) + (groups[7] as number)
}

/**
 * Compiles CIDR ranges (`10.0.0.0/8`, `192.168.1.7/32`, `fd00::/8`, `[fe80::]/10`; a bare
 * address means just that address) into an {@link AddressRanges}. The address part must be
 * canonical dotted-decimal for IPv4; host bits below the prefix are ignored
 * (`10.1.2.3/16` is `10.1.0.0/16`). Throws `bad_request` for anything else, so a typo fails when
 * the proxy is created, not by letting a request through.
 *
 * @example
 * ```ts
 * const ranges = parseAddressRanges(['10.1.0.0/16', 'fd00::/8'])
 * ranges.has('10.1.2.3') // true
 * ranges.has('10.2.0.1') // false
 * ranges.has('[fd00::5]') // true
 * ```
 */
export function parseAddressRanges(list: readonly string[]): AddressRanges {
  if (!Array.isArray(list)) throw invalid(list)
  const v4: [network: number, mask: number][] = []
  const v6: V6Range[] = []
  for (const text of list) {
    if (typeof text !== 'string' || text.length === 0 || text.length > 64) throw invalid(text)
    const slash = text.indexOf('/')
    const address = slash === -1 ? text : text.slice(0, slash)
    const prefix = slash === -1 ? undefined : text.slice(slash + 1)
    if (prefix !== undefined && !PREFIX.test(prefix)) throw invalid(text)
    const four = parseIpv4(address)
    if (four !== undefined) {
      const bits = prefix === undefined ? 32 : Number(prefix)
      if (bits > 32) throw invalid(text)
      const mask = v4Mask(bits)
      v4.push([(four & mask) >>> 0, mask])
      continue
    }
    const groups = address.includes(':') && !address.includes('%') ? parseIpv6(address) : undefined
    if (groups === undefined) throw invalid(text)
    const bits = prefix === undefined ? 128 : Number(prefix)
    if (bits > 128) throw invalid(text)
    v6.push({ groups, bits })
  }
  const ranges = Object.freeze([...list])
  const hasV4 = (value: number) => {
    for (const [network, mask] of v4) if ((value & mask) >>> 0 === network) return true
    return false
  }
  return Object.freeze({
    ranges,
    has(address: string): boolean {
      const four = parseIpv4(address)
      if (four !== undefined) return hasV4(four)
      const groups = parseIpv6(address)
      if (groups === undefined) return false
      const mapped = mappedV4(groups)
      if (mapped !== undefined && hasV4(mapped)) return true
      for (const range of v6) if (inV6Range(groups, range)) return true
      return false
    },
  })
}

/**
 * Compiles the operator's `allowPrivateAddresses` (`true`, `false` or CIDR ranges; absent is
 * `false`) into a {@link PrivateAddressPermit}: the engine's and the forward proxy's CONNECT check
 * read the option the same way.
 *
 * @throws KeyholeError `bad_request` for any other value, or a range that does not parse
 * @example
 * ```ts
 * compilePrivateAddressPermit(['10.0.0.0/8']) // ranges; compilePrivateAddressPermit(undefined) === false
 * ```
 */
export function compilePrivateAddressPermit(
  option: boolean | readonly string[] | undefined,
): PrivateAddressPermit {
  if (option === undefined || option === false) return false
  if (option === true) return true
  if (!Array.isArray(option)) {
    throw new KeyholeError(
      'bad_request',
      'allowPrivateAddresses must be true, false or a list of CIDR ranges',
    )
  }
  return parseAddressRanges(option)
}
