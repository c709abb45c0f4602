// The kit's keys and tokens, with every key and credential registered as a secret for the leak
// checks (the part that is special to the adversarial suites).
import { type Injection, type MintGrant, toPublicJwk } from '@keyhole/core'
import { makeKeys as makeKitKeys, mintToken, type TestKeys } from '../../../packages/core/test/kit/index.js'
import { credential, secret } from './secrets.js'

export type Keys = TestKeys

/** The kit's {@link makeKeys}, both private keys registered as secrets. */
export async function makeKeys(curve: 'P-256' | 'X25519' = 'P-256'): Promise<Keys> {
  const keys = await makeKitKeys(curve)
  secret(keys.key.d)
  secret(keys.foreign.d)
  return keys
}

export interface Minted {
  token: string
  /** The credential values it carries. */
  values: string[]
}

/**
 * Mints a token (to `to`, by the test issuer) whose every credential value is fresh and
 * registered as a secret. Default: one `Authorization: Bearer …` header; `inject` picks others.
 */
export async function mintFor(
  to: Keys['key'],
  grant: Omit<MintGrant, 'inject' | 'ttl'> & {
    ttl?: MintGrant['ttl']
    inject?: ('header' | 'query' | 'cookie' | 'apikey')[]
  },
  options: { now?: () => number } = {},
): Promise<Minted> {
  const values: string[] = []
  const inject: Injection[] = []
  for (const where of grant.inject ?? ['header']) {
    const value = credential(where)
    values.push(value)
    if (where === 'header') inject.push({ in: 'header', name: 'Authorization', value: `Bearer ${value}` })
    else if (where === 'apikey') inject.push({ in: 'header', name: 'X-Api-Key', value })
    else if (where === 'query') inject.push({ in: 'query', name: 'api_key', value })
    else inject.push({ in: 'cookie', name: 'session', value })
  }
  const { inject: _inject, ...rest } = grant
  const token = await mintToken(toPublicJwk(to), { ...rest, inject }, options.now ? { now: options.now } : {})
  return { token: secret(token), values }
}
