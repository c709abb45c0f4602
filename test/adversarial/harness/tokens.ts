import {
  createKeyring,
  generateKey,
  type Injection,
  type KeyholePrivateJwk,
  type Keyring,
  type MintGrant,
  mint,
  toPublicJwk,
} from '@keyhole/core'
import { testIssuer } from '../../../packages/core/test/kit/issuer.js'
import { credential, secret } from './secrets.js'

export interface Keys {
  key: KeyholePrivateJwk
  keyring: Keyring
  /** A key the proxy does not hold. */
  foreign: KeyholePrivateJwk
}

export async function makeKeys(curve: 'P-256' | 'X25519' = 'P-256'): Promise<Keys> {
  const key = await generateKey({ curve })
  const foreign = await generateKey({ curve })
  secret(key.d)
  secret(foreign.d)
  return { key, keyring: createKeyring([key]), foreign }
}

export interface Minted {
  token: string
  /** The credential values it carries. */
  values: string[]
}

/**
 * Mints a token whose every credential value is fresh and registered as a secret. Default: one
 * `Authorization: Bearer …` header; `extra` adds a query and/or cookie credential.
 */
export async function mintFor(
  to: KeyholePrivateJwk,
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
  const { inject: _inject, ttl, ...rest } = grant
  const token = await mint(
    { ...rest, inject, ttl: ttl ?? '1h' },
    { to: toPublicJwk(to), signWith: testIssuer, ...(options.now ? { now: options.now } : {}) },
  )
  return { token: secret(token), values }
}
