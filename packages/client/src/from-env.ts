import { type CreateFetchOptions, createFetch, type KeyholeFetch } from './create-fetch.js'
import { KeyholeClientError } from './errors.js'

type Env = Readonly<Record<string, string | undefined>>

function defaultEnv(): Env {
  return (globalThis as { process?: { env?: Env } }).process?.env ?? {}
}

/**
 * Builds a keyhole `fetch` from the environment: `KEYHOLE_PROXY` (the proxy's base URL) and
 * `KEYHOLE_TOKENS` (one or more tokens separated by commas or whitespace).
 *
 * @param env Default: `process.env` where it exists, otherwise an empty environment.
 * @param options `fetch` and `passthrough`, as for {@link createFetch}.
 * @throws KeyholeClientError `invalid_options` when a variable is missing, `invalid_token` for a bad token
 * @example
 * ```ts
 * // KEYHOLE_PROXY=http://127.0.0.1:8787 KEYHOLE_TOKENS="eyJ...,eyJ..."
 * const fetch = fromEnv()
 * const response = await fetch('https://api.github.com/user')
 * ```
 */
export function fromEnv(
  env: Env = defaultEnv(),
  options: Omit<CreateFetchOptions, 'proxy' | 'tokens'> = {},
): KeyholeFetch {
  const proxy = env.KEYHOLE_PROXY?.trim()
  if (!proxy) throw new KeyholeClientError('invalid_options', 'KEYHOLE_PROXY is not set')
  const tokens = (env.KEYHOLE_TOKENS ?? '').split(/[\s,]+/).filter((token) => token !== '')
  if (tokens.length === 0) throw new KeyholeClientError('invalid_options', 'KEYHOLE_TOKENS is not set')
  return createFetch({ ...options, proxy, tokens })
}
