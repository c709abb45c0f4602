import { secretForms } from './secret-forms.js'
import { utf8 } from './utf8.js'

/**
 * The set of byte strings to search for `secrets`: every form of every secret, as UTF-8, without
 * duplicates and without any form that contains another form of the same secret — where the
 * longer occurs, the shorter occurs inside it and its mask breaks the longer up, so searching for
 * both would only cost automaton states (what the longer had beyond the shorter, e.g. the last
 * character and `=` of a padded base64 beyond its stable middle, is a few bits at most).
 * Containment across different secrets does not drop anything: `secrets(entry)` lists a rendered
 * `Basic …` value next to its password precisely so the whole value is masked, username part
 * included, and overlapping matches mask their union. Sorted by length, then bytes, so equal
 * inputs build identical automata.
 *
 * @example
 * ```ts
 * searchSet(['sk-test-123']) // UTF-8 of 'sk-test-123', its base64 middles (not the padded whole), hex, ...
 * ```
 */
export function searchSet(secrets: readonly string[]): Uint8Array[] {
  // Binary strings (one char per byte) make dedupe and containment native string operations.
  const set = new Set<string>()
  for (const secret of secrets) {
    const forms = [...new Set(secretForms(secret).map((form) => binary(utf8(form))))].sort(byLengthThenBytes)
    const kept: string[] = []
    for (const form of forms) if (!kept.some((shorter) => form.includes(shorter))) kept.push(form)
    for (const form of kept) set.add(form)
  }
  return [...set].sort(byLengthThenBytes).map((form) => Uint8Array.from(form, (char) => char.charCodeAt(0)))
}

function byLengthThenBytes(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}

function binary(bytes: Uint8Array): string {
  let text = ''
  for (const byte of bytes) text += String.fromCharCode(byte)
  return text
}
