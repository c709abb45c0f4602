function decodeFormName(raw: string): string {
  const spaced = raw.replaceAll('+', ' ')
  if (!spaced.includes('%')) return spaced
  try {
    return decodeURIComponent(spaced)
  } catch {
    // Lenient, as form parsers are: decode the escapes that decode, so a malformed escape
    // elsewhere cannot hide a second copy of the field from the splice.
    return spaced.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    )
  }
}

/**
 * Sets one field of an `application/x-www-form-urlencoded` body: the first pair whose decoded
 * name is `name` gets the new value, every later one is removed (so the field ends with exactly
 * one value, whichever copy the upstream reads), and a missing field is appended. Every other
 * pair stays byte for byte, in order.
 *
 * @example
 * ```ts
 * spliceForm('a=1&api_key=x&b=2&api_key=y', 'api_key', 's3cr3t') // 'a=1&api_key=s3cr3t&b=2'
 * ```
 */
export function spliceForm(text: string, name: string, value: string): string {
  const pair = new URLSearchParams([[name, value]]).toString()
  if (text === '') return pair
  const out: string[] = []
  let placed = false
  for (const part of text.split('&')) {
    const eq = part.indexOf('=')
    if (decodeFormName(eq === -1 ? part : part.slice(0, eq)) !== name) out.push(part)
    else if (!placed) {
      out.push(pair)
      placed = true
    }
  }
  if (!placed) out.push(pair)
  return out.join('&')
}
