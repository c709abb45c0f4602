/**
 * Every JSON-escaped form of `secret`, as the inside of a string literal (no quotes):
 * - `JSON.stringify` (JavaScript, most serialisers);
 * - the same with `/` written `\/` (PHP `json_encode`, some Java and Ruby encoders);
 * - every non-ASCII UTF-16 unit as `\uXXXX` (Python `json.dumps` with `ensure_ascii`, PHP), with
 *   and without `\/`, lower- and upper-case hex;
 * - every character that is not a letter or digit as `\uXXXX` (HTML-safe encoders that write
 *   `<`, `&`, `'`... as escapes), lower- and upper-case hex;
 * - each of the first six with the characters HTML-safe encoders escape written `\uXXXX`: `<`,
 *   `>`, `&`, U+2028 and U+2029 in lower- and upper-case hex (Go `encoding/json`, Rails, Django
 *   `json_script`, PHP `JSON_HEX_TAG | JSON_HEX_AMP`), or those and `=` and `'` in lower case
 *   (Gson);
 * - .NET `System.Text.Json`'s default encoder: `"`, `<`, `>`, `&`, `'`, `+`, `` ` ``, DEL and
 *   everything outside ASCII as upper-case `\uXXXX` (so an AWS-style `…+…` secret is `…\u002B…`).
 *
 * Where a secret holds none of the characters a variant escapes, the variant equals a form before
 * it and `secretForms` keeps one copy, so a secret without `<>&='` or line separators costs
 * nothing for them.
 *
 * @example
 * ```ts
 * jsonForms('a"/é') // ['a\\"/é', 'a\\"\\/é', 'a\\"/\\u00e9', ..., 'a\\u0022\\u002f\\u00e9', ...]
 * jsonForms('a<b') // [..., 'a\\u003cb', 'a\\u003Cb', ...]
 * ```
 */
export function jsonForms(secret: string): string[] {
  const plain = JSON.stringify(secret).slice(1, -1)
  const slashed = plain.replaceAll('/', '\\/')
  const forms = [plain, slashed]
  let asciiUpper = ''
  for (const upper of [false, true]) {
    const ascii = plain.replace(/[^\0-\x7f]/g, (unit) => unicodeEscape(unit.charCodeAt(0), upper))
    forms.push(ascii, ascii.replaceAll('/', '\\/'))
    if (upper) asciiUpper = ascii
  }
  const partial = forms.slice()
  forms.push(dotnetForm(asciiUpper))
  for (const upper of [false, true]) {
    let all = ''
    for (let i = 0; i < secret.length; i++) {
      const unit = secret.charCodeAt(i)
      all += isAlphanumeric(unit) ? secret[i] : unicodeEscape(unit, upper)
    }
    forms.push(all)
  }
  // `plain` holds these characters only as themselves, never inside an escape, so they can be
  // replaced in any of the partial forms.
  if (HTML_SENSITIVE.test(plain))
    for (const { chars, cases } of HTML_SAFE)
      for (const upper of cases)
        for (const form of partial)
          forms.push(form.replace(chars, (char) => unicodeEscape(char.charCodeAt(0), upper)))
  return forms
}

/**
 * What HTML-safe JSON encoders escape, and in which hex case: Go's `encoding/json` and Rails in
 * lower case, Django `json_script` and PHP `JSON_HEX_TAG | JSON_HEX_AMP` in upper case; Gson (by
 * default) also `=` and `'`, in lower case.
 */
const HTML_SAFE: readonly { chars: RegExp; cases: readonly boolean[] }[] = [
  { chars: /[<>&\u2028\u2029]/g, cases: [false, true] },
  { chars: /[<>&='\u2028\u2029]/g, cases: [false] },
]
const HTML_SENSITIVE = /[<>&='\u2028\u2029]/

/** One escape sequence (kept, `\"` and control escapes rewritten) or a character .NET escapes. */
const DOTNET_TOKENS = /\\(?:u[0-9a-fA-F]{4}|.)|[<>&'+`\x7f]/g

/**
 * .NET's default form, from the JSON.stringify form with non-ASCII already escaped in upper case:
 * `\"` becomes `\u0022`, control escapes are written in upper case, and the HTML- and
 * URL-sensitive characters are escaped. Other escapes (`\\`, `\n`, ...) stay as they are.
 */
function dotnetForm(asciiUpper: string): string {
  return asciiUpper.replace(DOTNET_TOKENS, (token) => {
    if (token === '\\"') return '\\u0022'
    if (token.startsWith('\\u')) return `\\u${token.slice(2).toUpperCase()}`
    if (token.length === 2) return token
    return unicodeEscape(token.charCodeAt(0), true)
  })
}

function unicodeEscape(unit: number, upper: boolean): string {
  const hex = unit.toString(16).padStart(4, '0')
  return `\\u${upper ? hex.toUpperCase() : hex}`
}

function isAlphanumeric(unit: number): boolean {
  return (unit >= 48 && unit <= 57) || (unit >= 65 && unit <= 90) || (unit >= 97 && unit <= 122)
}
