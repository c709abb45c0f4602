import { resolve } from 'node:path'
import { type IssuerOption, isKeyholeError, parseHostPattern } from '@keyhole/core'
import { CliError, usageError } from './cli-error.js'
import { readJsonFile } from './read-json-file.js'

/**
 * Reads one `--trust-issuer <jwks file|url>[=<pattern>,...]`: the issuer's public keys (a JWKS
 * file, e.g. `keyhole jwks --issuer` output, or an http(s) URL the proxy fetches and refreshes),
 * optionally limited to host patterns — the issuer may then only grant hosts those patterns cover.
 * The patterns follow the last `=`, so a URL holding `=` in its query still works when no scope
 * is given.
 *
 * @example
 * ```ts
 * await trustIssuer('ci-issuer.json=api.github.com,*.githubusercontent.com', process.cwd())
 * // { keys: { keys: [...] }, hosts: ['api.github.com', '*.githubusercontent.com'] }
 * ```
 */
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost'])

function hostOf(url: string): string {
  try {
    return new URL(url).hostname
  } catch {
    return ''
  }
}

export async function trustIssuer(spec: string, cwd: string): Promise<IssuerOption> {
  let source = spec
  let hosts: string[] | undefined
  const at = spec.lastIndexOf('=')
  if (at > 0) {
    const patterns = spec
      .slice(at + 1)
      .split(',')
      .map((pattern) => pattern.trim())
    const scoped = patterns.every((pattern) => {
      try {
        parseHostPattern(pattern)
        return true
      } catch (error) {
        if (isKeyholeError(error)) return false
        throw error
      }
    })
    if (scoped) {
      source = spec.slice(0, at)
      hosts = patterns
    } else if (!/^https?:\/\/[^?]*\?/i.test(spec)) {
      // Never quotes the pattern: it is what the operator typed, and could be anything.
      throw usageError(
        '--trust-issuer <jwks file|url>=<pattern>,...: a pattern after = is not a valid host pattern',
      )
    }
  }
  if (source === '') throw usageError('--trust-issuer needs a JWKS file or URL')
  const scope = hosts ? { hosts } : {}
  if (/^https?:\/\//i.test(source)) {
    // Keys fetched over plain http from another machine could be swapped on the way: refused
    // here, at start, rather than at the first token.
    if (/^http:/i.test(source) && !LOOPBACK.has(hostOf(source)))
      throw usageError(
        '--trust-issuer URLs must use https: (plain http: only to 127.0.0.1, [::1] or localhost)',
      )
    return { keys: source, ...scope }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source))
    throw usageError('--trust-issuer takes a file or an http(s) URL')
  const json = await readJsonFile(
    resolve(cwd, source),
    'issuer JWKS file',
    'write one with `keyhole jwks --keys keys.json --issuer > issuer.json` where the issuer key lives',
    source,
  )
  const keys = (json as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys) || keys.length === 0)
    throw new CliError(
      `issuer JWKS file ${source} must hold a key set: {"keys": [ ...public issuer keys... ]}`,
    )
  const encryptionOnly = keys.every((key) => {
    const { use, alg } = (key ?? {}) as { use?: unknown; alg?: unknown }
    return use === 'enc' || alg === 'ECDH-ES+A256KW'
  })
  if (encryptionOnly)
    throw new CliError(
      `${source} is an encryption key set (a proxy's own JWKS), which cannot verify a grant; trust the issuer's signing keys: keyhole jwks --keys <issuer keys.json> --issuer > issuer.json`,
    )
  if (keys.some((key) => typeof key === 'object' && key !== null && 'd' in key))
    throw new CliError(
      `${source} holds private keys; trust only the public ones: keyhole jwks --keys ${source} --issuer > issuer.json`,
    )
  return { keys: { keys }, ...scope }
}
