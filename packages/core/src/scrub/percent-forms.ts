/**
 * The percent-encoding styles in use: which ASCII characters each leaves as they are, and
 * whether a space becomes `+`. Each is also searched with upper- and lower-case hex.
 * - `encodeURIComponent` (JavaScript, most query builders);
 * - RFC 3986 unreserved only (Python `quote(safe='')`, Go `url.PathEscape` minus sub-delims, Java
 *   and most OAuth signers);
 * - `application/x-www-form-urlencoded` as WHATWG `URLSearchParams` writes it;
 * - the same with RFC 3986's set (Python `quote_plus`, PHP `urlencode` except `~`);
 * - RFC 3986 unreserved and `/` (Python `quote(s)`, whose default `safe` is `'/'`);
 * - `encodeURI` (JavaScript; also keeps the reserved `;,/?:@&=+$#`).
 */
const STYLES: readonly { keep: RegExp; plus: boolean }[] = [
  { keep: /[A-Za-z0-9\-_.!~*'()]/, plus: false },
  { keep: /[A-Za-z0-9\-_.~]/, plus: false },
  { keep: /[A-Za-z0-9*\-._]/, plus: true },
  { keep: /[A-Za-z0-9\-_.~]/, plus: true },
  { keep: /[A-Za-z0-9\-_.~/]/, plus: false },
  { keep: /[A-Za-z0-9;,/?:@&=+$#\-_.!~*'()]/, plus: false },
]

/**
 * Every percent-encoded form of `secret`, escaping its UTF-8 bytes: the styles above, each with
 * upper- and lower-case hex. For a secret made of letters, digits and `-_.` every form equals
 * the raw secret, and the search set keeps one copy (and a style that changes nothing in a given
 * secret, e.g. `encodeURI` of one with only `/` and `+` besides, costs nothing either).
 *
 * @example
 * ```ts
 * percentForms('a b/é') // ['a%20b%2F%C3%A9', 'a%20b%2f%c3%a9', 'a+b%2F%C3%A9', ...]
 * ```
 */
export function percentForms(secret: string): string[] {
  const forms: string[] = []
  for (const { keep, plus } of STYLES) {
    let upper = ''
    for (const char of secret) {
      if (keep.test(char)) upper += char
      else if (plus && char === ' ') upper += '+'
      else
        for (const byte of encoder.encode(char))
          upper += `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`
    }
    forms.push(
      upper,
      upper.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
    )
  }
  return forms
}

const encoder = new TextEncoder()
