import { KeyholeClientError } from './errors.js'
import { type HostPattern, matchHost, parseHostPattern, type UrlTarget } from './match-host.js'
import { readTokenHosts } from './read-token-hosts.js'

interface Entry {
  readonly pattern: HostPattern
  readonly token: string
}

/** Tokens indexed by host pattern, for picking the token that goes with a URL. */
export interface TokenTable {
  /** The token for a target, or `undefined` when none matches. */
  pick(target: UrlTarget): string | undefined
}

/**
 * Builds the routing table. A list of tokens is routed by each token's public `hosts` hint; a
 * record maps host patterns to tokens explicitly (the record's key is used, not the hint).
 *
 * Choosing: the most specific matching pattern wins (an exact host beats any wildcard; a
 * wildcard with a longer base, `*.api.example.com`, beats a shorter one, `*.example.com`). On a
 * tie the token listed first wins (array order, or the record's insertion order).
 *
 * @throws KeyholeClientError `invalid_token` or `invalid_options`
 * @example
 * ```ts
 * const table = createTokenTable([githubToken, openaiToken])
 * ```
 */
export function createTokenTable(tokens: readonly string[] | Readonly<Record<string, string>>): TokenTable {
  const entries: Entry[] = []
  const add = (patternText: string, token: string): void => {
    const pattern = parseHostPattern(patternText)
    if (pattern === undefined) {
      throw new KeyholeClientError(
        'invalid_options',
        `not a host pattern: ${JSON.stringify(patternText.slice(0, 200))}`,
      )
    }
    entries.push({ pattern, token })
  }
  if (Array.isArray(tokens)) {
    for (const token of tokens as readonly string[])
      for (const host of readTokenHosts(token)) add(host, token)
  } else if (typeof tokens === 'object' && tokens !== null) {
    for (const [pattern, token] of Object.entries(tokens)) {
      if (typeof token !== 'string' || token === '') {
        throw new KeyholeClientError(
          'invalid_options',
          `the token for ${JSON.stringify(pattern)} must be a string`,
        )
      }
      add(pattern, token)
    }
  } else {
    throw new KeyholeClientError(
      'invalid_options',
      'tokens must be a list of tokens or a record of host pattern → token',
    )
  }
  if (entries.length === 0) throw new KeyholeClientError('invalid_options', 'no tokens given')
  return {
    pick(target) {
      let best: Entry | undefined
      let bestScore = 0
      for (const entry of entries) {
        const score = matchHost(entry.pattern, target)
        if (score > bestScore) {
          best = entry
          bestScore = score
        }
      }
      return best?.token
    },
  }
}
