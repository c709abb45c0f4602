function decodeName(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw
  const spaced = raw.replaceAll('+', ' ')
  try {
    return decodeURIComponent(spaced)
  } catch {
    // Malformed escapes elsewhere in the name: decode what can be decoded, as lenient servers do,
    // so `api%4key=x&api_key=...` cannot smuggle a second `api_key` past the splice.
    return spaced.replace(/%([0-7][0-9A-Fa-f])/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    )
  }
}

/**
 * Sets one query parameter in a raw query string (`''` or `?...`): removes every inbound
 * parameter whose decoded name is `name` and appends `name=value`, percent-encoded. Everything
 * else stays byte for byte, in order (a `URLSearchParams` round trip would re-encode it all).
 *
 * @example
 * ```ts
 * spliceQuery('?q=a%20b&api_key=mine', 'api_key', 's3cr3t') // '?q=a%20b&api_key=s3cr3t'
 * ```
 */
export function spliceQuery(search: string, name: string, value: string): string {
  const pair = `${encodeURIComponent(name)}=${encodeURIComponent(value)}`
  if (search === '' || search === '?') return `?${pair}`
  const kept = search
    .slice(1)
    .split('&')
    .filter((part) => {
      const eq = part.indexOf('=')
      return decodeName(eq === -1 ? part : part.slice(0, eq)) !== name
    })
  return kept.length === 0 ? `?${pair}` : `?${kept.join('&')}&${pair}`
}
