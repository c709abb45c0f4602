import { KeyholeClientError } from './errors.js'

function decodeBase64Url(segment: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) throw new Error('not base64url')
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/')
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
}

/**
 * Reads the public `hosts` routing hint from a keyhole token's protected header (the first
 * segment of the compact JWE). Nothing is decrypted or verified: the hint only decides which
 * token goes with which URL; the proxy enforces the encrypted policy.
 *
 * @throws KeyholeClientError `invalid_token` (the message never contains the token)
 * @example
 * ```ts
 * readTokenHosts(token) // ['api.github.com']
 * ```
 */
export function readTokenHosts(token: string): string[] {
  let header: unknown
  try {
    if (typeof token !== 'string') throw new Error('not a string')
    const segments = token.split('.')
    if (segments.length !== 5) throw new Error('not a compact JWE')
    header = JSON.parse(decodeBase64Url(segments[0]!))
  } catch (cause) {
    throw new KeyholeClientError('invalid_token', 'a token is not a keyhole token (compact JWE expected)', {
      cause,
    })
  }
  const hosts = (header as { hosts?: unknown } | null)?.hosts
  if (!Array.isArray(hosts) || hosts.length === 0 || !hosts.every((host) => typeof host === 'string')) {
    throw new KeyholeClientError('invalid_token', 'a token has no hosts hint in its protected header')
  }
  return hosts
}
