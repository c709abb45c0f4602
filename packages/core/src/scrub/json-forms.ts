/**
 * Every JSON-escaped form of `secret`, as the inside of a string literal (no quotes):
 * - `JSON.stringify` (JavaScript, most serialisers);
 * - the same with `/` written `\/` (PHP `json_encode`, some Java and Ruby encoders);
 * - every non-ASCII UTF-16 unit as `\uXXXX` (Python `json.dumps` with `ensure_ascii`, PHP), with
 *   and without `\/`, lower- and upper-case hex;
 * - every character that is not a letter or digit as `\uXXXX` (HTML-safe encoders that write
 *   `<`, `&`, `'`... as escapes), lower- and upper-case hex.
 *
 * @example
 * ```ts
 * jsonForms('a"/é') // ['a\\"/é', 'a\\"\\/é', 'a\\"/\\u00e9', ..., 'a\\u0022\\u002f\\u00e9', ...]
 * ```
 */
export function jsonForms(secret: string): string[] {
  const plain = JSON.stringify(secret).slice(1, -1)
  const slashed = plain.replaceAll('/', '\\/')
  const forms = [plain, slashed]
  for (const upper of [false, true]) {
    const toEscape = (unit: string) => unicodeEscape(unit.charCodeAt(0), upper)
    const ascii = plain.replace(/[^\0-\x7f]/g, toEscape)
    forms.push(ascii, ascii.replaceAll('/', '\\/'))
    let all = ''
    for (let i = 0; i < secret.length; i++) {
      const unit = secret.charCodeAt(i)
      all += isAlphanumeric(unit) ? secret[i] : unicodeEscape(unit, upper)
    }
    forms.push(all)
  }
  return forms
}

function unicodeEscape(unit: number, upper: boolean): string {
  const hex = unit.toString(16).padStart(4, '0')
  return `\\u${upper ? hex.toUpperCase() : hex}`
}

function isAlphanumeric(unit: number): boolean {
  return (unit >= 48 && unit <= 57) || (unit >= 65 && unit <= 90) || (unit >= 97 && unit <= 122)
}
