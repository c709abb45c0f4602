import { KeyholeError } from '../errors.js'
import type { Policy } from '../types.js'
import type { AddressRanges } from './address-ranges.js'

/*
 * Which addresses a proxy must not dial on a sandbox's behalf. The rule is an allow-list for
 * IPv6 (only 2000::/3 global unicast, minus its special blocks) and a deny-list of the IANA
 * "not globally reachable" blocks for IPv4; anything keyhole cannot parse counts as private, so
 * a parsing gap fails closed.
 */

// [network, prefix length] pairs, IPv4 as unsigned 32-bit numbers.
const PRIVATE_V4: readonly (readonly [number, number])[] = [
  [0x00000000, 8], // 0.0.0.0/8 "this network", includes the unspecified address
  [0x0a000000, 8], // 10.0.0.0/8 private
  [0x64400000, 10], // 100.64.0.0/10 shared address space (CGNAT)
  [0x7f000000, 8], // 127.0.0.0/8 loopback
  [0xa9fe0000, 16], // 169.254.0.0/16 link-local (cloud metadata lives here)
  [0xac100000, 12], // 172.16.0.0/12 private
  [0xc0000000, 24], // 192.0.0.0/24 IETF protocol assignments
  [0xc0000200, 24], // 192.0.2.0/24 TEST-NET-1
  [0xc0586300, 24], // 192.88.99.0/24 6to4 relay anycast (deprecated)
  [0xc0a80000, 16], // 192.168.0.0/16 private
  [0xc6120000, 15], // 198.18.0.0/15 benchmarking
  [0xc6336400, 24], // 198.51.100.0/24 TEST-NET-2
  [0xcb007100, 24], // 203.0.113.0/24 TEST-NET-3
  [0xe0000000, 4], // 224.0.0.0/4 multicast
  [0xf0000000, 4], // 240.0.0.0/4 reserved, includes 255.255.255.255 broadcast
]

const DECIMAL_OCTET = /^(?:0|[1-9]\d{0,2})$/

/**
 * Parses a canonical dotted-quad IPv4 address (`127.0.0.1`; no leading zeros, no hex, no
 * shortened forms) to an unsigned 32-bit number.
 *
 * @example
 * ```ts
 * parseIpv4('10.0.0.1') // 167772161
 * parseIpv4('010.0.0.1') // undefined
 * ```
 */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!DECIMAL_OCTET.test(part)) return undefined
    const octet = Number(part)
    if (octet > 255) return undefined
    value = value * 256 + octet
  }
  return value
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/

/**
 * Parses an IPv6 address (with or without brackets, with an optional `%zone` and an optional
 * dotted-quad tail) to its eight 16-bit groups.
 *
 * @example
 * ```ts
 * parseIpv6('[::1]') // [0, 0, 0, 0, 0, 0, 0, 1]
 * parseIpv6('::ffff:127.0.0.1') // [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]
 * ```
 */
export function parseIpv6(text: string): number[] | undefined {
  let input = text
  if (input.startsWith('[')) {
    if (!input.endsWith(']')) return undefined
    input = input.slice(1, -1)
  }
  const zone = input.indexOf('%')
  if (zone !== -1) input = input.slice(0, zone)
  if (!input.includes(':')) return undefined

  const lastColon = input.lastIndexOf(':')
  if (input.includes('.', lastColon)) {
    // A dotted-quad tail stands for the last two groups; rewrite it as hex and parse as usual.
    const v4 = parseIpv4(input.slice(lastColon + 1))
    if (v4 === undefined) return undefined
    input = `${input.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`
  }

  const halves = input.split('::')
  if (halves.length > 2) return undefined
  const parse = (part: string): number[] | undefined => {
    if (part === '') return []
    const groups: number[] = []
    for (const group of part.split(':')) {
      if (!HEX_GROUP.test(group)) return undefined
      groups.push(Number.parseInt(group, 16))
    }
    return groups
  }
  const head = parse(halves[0] as string)
  const rest = halves.length === 2 ? parse(halves[1] as string) : []
  if (!head || !rest) return undefined

  const explicit = head.length + rest.length
  if (halves.length === 2) {
    if (explicit > 7) return undefined
    return [...head, ...new Array<number>(8 - explicit).fill(0), ...rest]
  }
  return explicit === 8 ? head : undefined
}

function inV4Block(value: number, network: number, bits: number): boolean {
  if (bits === 0) return true
  const mask = bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0
  return (value & mask) >>> 0 === network
}

function isPrivateV4(value: number): boolean {
  for (const [network, bits] of PRIVATE_V4) if (inV4Block(value, network, bits)) return true
  return false
}

function isPrivateV6(g: number[]): boolean {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const embeddedV4 = ((g6 << 16) >>> 0) + g7
  // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (translated) reach an IPv4 address.
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) {
    if (g4 === 0 && g5 === 0xffff) return isPrivateV4(embeddedV4)
    if (g4 === 0xffff && g5 === 0) return isPrivateV4(embeddedV4)
    return true // ::, ::1, IPv4-compatible and the rest of ::/64
  }
  // 64:ff9b::/96 NAT64 reaches the embedded IPv4 address; 64:ff9b:1::/48 is local-use NAT64.
  if (g0 === 0x64 && g1 === 0xff9b) {
    if (g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return isPrivateV4(embeddedV4)
    return true
  }
  // 2002::/16 6to4 carries an IPv4 address in groups 1 and 2.
  if (g0 === 0x2002) return isPrivateV4(((g1 << 16) >>> 0) + g2)
  // Only 2000::/3 is global unicast; the rest (ULA fc00::/7, link-local fe80::/10, site-local,
  // multicast ff00::/8, 100::/64 discard, unassigned space) is refused.
  if ((g0 & 0xe000) !== 0x2000) return true
  if (g0 === 0x2001 && g1 < 0x200) return true // 2001::/23 IETF assignments, includes Teredo
  if (g0 === 0x2001 && g1 === 0x0db8) return true // 2001:db8::/32 documentation
  if (g0 === 0x3fff && g1 < 0x1000) return true // 3fff::/20 documentation
  return false
}

/**
 * Whether an IP address literal is one a proxy must not dial for a sandbox: loopback, private,
 * link-local, unspecified, CGNAT, multicast, documentation, reserved, and IPv6 forms that embed
 * such an IPv4 address. Anything that is not a parseable IP address counts as private.
 *
 * @example
 * ```ts
 * isPrivateAddress('169.254.169.254') // true
 * isPrivateAddress('::ffff:10.0.0.1') // true
 * isPrivateAddress('140.82.112.3') // false
 * ```
 */
export function isPrivateAddress(address: string): boolean {
  const v4 = parseIpv4(address)
  if (v4 !== undefined) return isPrivateV4(v4)
  const v6 = parseIpv6(address)
  if (v6 !== undefined) return isPrivateV6(v6)
  return true
}

/** A comparable key for an IP literal (`v4:…` / `v6:…`), or undefined for a name. */
export function addressKey(host: string): string | undefined {
  const v4 = parseIpv4(host)
  if (v4 !== undefined) return `v4:${v4}`
  const v6 = host.startsWith('[') || host.includes(':') ? parseIpv6(host) : undefined
  return v6 ? `v6:${v6.join(':')}` : undefined
}

// Special-use names that only ever resolve to local or private addresses (RFC 6761, 6762,
// 8375 and ICANN's .internal).
const LOCAL_SUFFIXES = ['.localhost', '.local', '.internal', '.home.arpa', '.localdomain']

/**
 * True for host names that resolve to local or private addresses by definition (`localhost`,
 * `*.localhost`, `*.local`, `*.internal`, `*.home.arpa`). The name alone cannot tell more: with
 * the fetch forwarder any other name that resolves to a private address is not caught (the node
 * forwarder checks the address it actually dials).
 *
 * @example
 * ```ts
 * isLocalHostname('api.localhost') // true
 * isLocalHostname('api.github.com') // false
 * ```
 */
export function isLocalHostname(host: string): boolean {
  const name = host.toLowerCase()
  if (name === 'localhost' || name === 'localhost.localdomain') return true
  for (const suffix of LOCAL_SUFFIXES) if (name.endsWith(suffix)) return true
  return false
}

// WHATWG "ends in a number": the last label is decimal digits or 0x-hex, so a URL parser would
// read the host as an IPv4 address (2130706433, 0x7f.1, 127.1).
const ENDS_IN_NUMBER = /(?:^|\.)(?:\d+|0[xX][0-9a-fA-F]*)\.?$/

function hostPart(pattern: string): string {
  let rest = pattern
  const scheme = rest.indexOf('://')
  if (scheme !== -1) rest = rest.slice(scheme + 3)
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']')
    return end === -1 ? rest : rest.slice(0, end + 1)
  }
  const colon = rest.indexOf(':')
  return colon === -1 ? rest : rest.slice(0, colon)
}

/**
 * True when one of the grant's host patterns names this IP address literally (a wildcard never
 * does). Compared by parsed value, so `[::ffff:7f00:1]` and `[::ffff:127.0.0.1]` are the same.
 *
 * @example
 * ```ts
 * grantNamesAddress({ hosts: ['http://127.0.0.1:8080'] }, '127.0.0.1') // true
 * ```
 */
export function grantNamesAddress(policy: Policy, host: string): boolean {
  const key = addressKey(host)
  if (key === undefined) return false
  let named = namedAddresses.get(policy.hosts)
  if (!named) {
    named = new Set()
    for (const pattern of policy.hosts) {
      const literal = addressKey(hostPart(pattern))
      if (literal !== undefined) named.add(literal)
    }
    namedAddresses.set(policy.hosts, named)
  }
  return named.has(key)
}

// The IP literals each grant names, computed once per (frozen) hosts array: grants the opener
// builds from one validated policy share that array.
const namedAddresses = new WeakMap<readonly string[], Set<string>>()

/**
 * What a request may dial besides public addresses, as the address rule decided it: nothing
 * (`false`), anything (`true`), or only the private addresses inside the operator's ranges. A
 * forwarder that checks dialed addresses (the node forwarder) applies it to every DNS answer.
 */
export type PrivateAddressPermit = boolean | AddressRanges

/**
 * Checks the host of an authorized target before anything is dialed, and returns what the
 * forwarder may dial for it.
 *
 * - A private, loopback or link-local IP literal passes only when the operator allows it
 *   (`allowPrivateAddresses` is `true`, or the address lies in one of its ranges) or a **signed**
 *   grant (one with `issuerKid`) names that address literally. An unsigned grant naming it never
 *   does: anyone holding the public JWKS could have minted it.
 * - A local-only name (`localhost`, `*.local`, `*.internal`, ...) passes only when the operator
 *   allows private addresses at all; with ranges, the addresses it resolves to must lie in them.
 * - Any other name passes; the forwarder checks what it resolves to against the returned permit.
 *
 * @throws KeyholeError `host_not_allowed`, or `bad_target` for a host no URL parser accepts
 * @example
 * ```ts
 * checkTargetAddress('127.0.0.1', grant) // true if grant.issuerKid is set and it names 127.0.0.1, else throws
 * checkTargetAddress('10.1.2.3', grant, parseAddressRanges(['10.1.0.0/16'])) // true
 * checkTargetAddress('api.github.com', grant) // false: public name, private answers refused
 * ```
 */
export function checkTargetAddress(
  host: string,
  grant: Policy & { readonly issuerKid?: string | undefined },
  allowPrivateAddresses: PrivateAddressPermit = false,
): PrivateAddressPermit {
  if (allowPrivateAddresses === true) return true
  let kind = hostKinds.get(host)
  if (kind === undefined) {
    kind = classifyHost(host)
    // Hosts repeat from request to request; a bounded memo keeps the parsing off the hot path.
    if (hostKinds.size >= MAX_HOST_KINDS) hostKinds.clear()
    hostKinds.set(host, kind)
  }
  if (kind === 'public') return allowPrivateAddresses
  if (kind === 'local') {
    if (allowPrivateAddresses !== false) return allowPrivateAddresses
    throw new KeyholeError('host_not_allowed', 'the target host name only resolves to local addresses')
  }
  if (allowPrivateAddresses !== false && allowPrivateAddresses.has(kind)) return true
  if (typeof grant.issuerKid === 'string' && grantNamesAddress(grant, kind)) return true
  throw new KeyholeError(
    'host_not_allowed',
    'the target is a private, loopback or link-local address that neither a signed token nor the proxy allows',
  )
}

const MAX_HOST_KINDS = 1024
// 'public' (a public address or an ordinary name), 'local' (a local-only name), or the canonical
// private address the host stands for.
const hostKinds = new Map<string, string>()

function classifyHost(host: string): string {
  let name = host
  const first = name.charCodeAt(0)
  // Only hosts that start with a digit, '[' or end in a number can be IP literals.
  const maybeLiteral = (first >= 48 && first <= 57) || first === 91 || ENDS_IN_NUMBER.test(name)
  if (maybeLiteral && addressKey(name) === undefined && ENDS_IN_NUMBER.test(name)) {
    // A host the URL parser would read as IPv4 (a target parser that did not canonicalize it):
    // canonicalize the same way fetch would, then judge the address.
    try {
      name = new URL(`http://${name}/`).hostname
    } catch {
      throw new KeyholeError('bad_target', 'the target host is not a valid host name or address')
    }
  }
  if (maybeLiteral && addressKey(name) !== undefined) return isPrivateAddress(name) ? name : 'public'
  return isLocalHostname(name) ? 'local' : 'public'
}
