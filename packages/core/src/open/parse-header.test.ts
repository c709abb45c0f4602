import fc from 'fast-check'
import { base64url } from 'jose'
import { describe, expect, it } from 'vitest'
import { isKeyholeError } from '../errors.js'
import type { KeyCurve } from '../types.js'
import { checkHeader } from './parse-header.js'

const KID = 'kid-p256'
const curveOf = (kid: string): KeyCurve | undefined => (kid === KID ? 'P-256' : undefined)
const coordinate = 'A'.repeat(43)
const goodHeader = {
  alg: 'ECDH-ES+A256KW',
  enc: 'A256GCM',
  kid: KID,
  typ: 'keyhole+jwt',
  hosts: ['api.example.com'],
  epk: { kty: 'EC', crv: 'P-256', x: coordinate, y: coordinate },
}
const rest = ['B'.repeat(54), 'C'.repeat(16), 'D'.repeat(30), 'E'.repeat(22)]
const tokenWith = (header: unknown) => [base64url.encode(JSON.stringify(header)), ...rest].join('.')

describe('checkHeader', () => {
  it('accepts keyhole’s header and returns kid and hosts', () => {
    const checked = checkHeader(tokenWith(goodHeader), curveOf)
    expect({ kid: checked.kid, hosts: checked.hosts }).toEqual({ kid: KID, hosts: ['api.example.com'] })
    expect(checked.header).toEqual(goodHeader)
  })

  it.each([
    ['a 42-character IV', (t: string) => t.replace('C'.repeat(16), 'C'.repeat(15))],
    ['an empty ciphertext', (t: string) => t.replace('D'.repeat(30), '')],
    ['a 53-character encrypted key', (t: string) => t.replace('B'.repeat(54), 'B'.repeat(53))],
    ['a 23-character tag', (t: string) => t.replace('E'.repeat(22), 'E'.repeat(23))],
  ])('refuses %s', (_name, change) => {
    expect(() => checkHeader(change(tokenWith(goodHeader)), curveOf)).toThrow(
      expect.objectContaining({ code: 'invalid_token' }),
    )
  })

  it('refuses an X25519 epk for a P-256 key and a P-256 epk with a y of the wrong size', () => {
    for (const epk of [
      { kty: 'OKP', crv: 'X25519', x: coordinate },
      { kty: 'EC', crv: 'P-256', x: coordinate, y: 'A'.repeat(44) },
      { kty: 'EC', crv: 'P-384', x: coordinate, y: coordinate },
    ]) {
      expect(() => checkHeader(tokenWith({ ...goodHeader, epk }), curveOf)).toThrow(
        expect.objectContaining({ code: 'invalid_token' }),
      )
    }
  })

  it('any change to any header member is refused with invalid_token and nothing else', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(goodHeader), 'zip', 'crit', 'jku', '__proto__', 'b64'),
        fc.anything(),
        (member, value) => {
          const header: Record<string, unknown> = { ...goodHeader }
          Object.defineProperty(header, member, {
            value,
            enumerable: true,
            configurable: true,
            writable: true,
          })
          const encoded = JSON.parse(JSON.stringify(header)) as Record<string, unknown>
          // The hosts hint only has to be a list of strings here; the claims check compares it.
          const hint = encoded.hosts
          const hintOk = Array.isArray(hint) && hint.length > 0 && hint.every((h) => typeof h === 'string')
          const same =
            JSON.stringify({ ...encoded, hosts: 0 }) === JSON.stringify({ ...goodHeader, hosts: 0 }) && hintOk
          try {
            checkHeader(tokenWith(header), curveOf)
            expect(same).toBe(true)
          } catch (err) {
            expect(isKeyholeError(err, 'invalid_token')).toBe(true)
          }
        },
      ),
      { numRuns: 500 },
    )
  })

  it('arbitrary JSON headers never throw anything but invalid_token', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (header) => {
        try {
          checkHeader(tokenWith(header), curveOf)
        } catch (err) {
          expect(isKeyholeError(err, 'invalid_token')).toBe(true)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('decodes the header to what jose and a fatal UTF-8 decoder give: non-ASCII, a BOM, damaged bytes', () => {
    const strict = new TextDecoder('utf-8', { fatal: true })
    const reference = (segment: string): unknown => {
      try {
        return JSON.parse(strict.decode(base64url.decode(segment)))
      } catch {
        return undefined
      }
    }
    const acceptable = (h: unknown): boolean => {
      if (typeof h !== 'object' || h === null || Array.isArray(h)) return false
      const r = h as Record<string, unknown>
      return (
        Object.keys(r).sort().join() === 'alg,enc,epk,hosts,kid,typ' &&
        r.alg === goodHeader.alg &&
        r.enc === goodHeader.enc &&
        r.typ === goodHeader.typ &&
        r.kid === KID &&
        JSON.stringify(r.epk) === JSON.stringify(goodHeader.epk) &&
        Array.isArray(r.hosts) &&
        r.hosts.length > 0 &&
        r.hosts.every((x) => typeof x === 'string')
      )
    }
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
        fc.boolean(),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }))),
        fc.integer({ min: 0, max: 3 }),
        (host, bom, damage, trim) => {
          let bytes = Buffer.from(JSON.stringify({ ...goodHeader, hosts: [host] }))
          if (bom) bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes])
          if (damage) bytes[damage[0] % bytes.length] = damage[1]
          // Trimming characters makes lengths of 4n+1 and short final groups.
          const segment = bytes.toString('base64url').slice(0, bytes.toString('base64url').length - trim)
          const token = [segment, ...rest].join('.')
          const expected = reference(segment)
          let got: Record<string, unknown> | undefined
          try {
            got = checkHeader(token, curveOf).header as Record<string, unknown>
          } catch (err) {
            expect(isKeyholeError(err, 'invalid_token')).toBe(true)
          }
          if (got === undefined) expect(acceptable(expected)).toBe(false)
          else expect(got).toEqual(expected)
          if (acceptable(expected)) expect(got).toBeDefined()
        },
      ),
      { numRuns: 1000 },
    )
  })
})
