import { base64Forms } from './base64-forms.js'
import { hexForms } from './hex-forms.js'
import { jsonForms } from './json-forms.js'
import { percentForms } from './percent-forms.js'
import { utf8 } from './utf8.js'

/**
 * Derived forms shorter than this many UTF-8 bytes are not searched. A short form (the stable
 * base64 middle of a 3-byte secret is 2 characters) would mask innocent text all over a body
 * and hides almost nothing: what it would mask carries a few bits at most. The raw secret is
 * always searched, however short.
 *
 * @example
 * ```ts
 * secretForms('abcd') // ['abcd', '61626364', ...]: 'YWJjZA' has 6 bytes and stays, 'YWJjZ' goes
 * ```
 */
export const MIN_DERIVED_FORM_BYTES = 6

/**
 * Every form in which `secret` may come back from an upstream (README, "Response
 * scrubbing"): raw; percent-encoded; base64 and base64url, whole and at the three alignments
 * inside a longer base64 text; hex; JSON-escaped. The raw secret comes first; derived forms
 * shorter than {@link MIN_DERIVED_FORM_BYTES} are left out. Duplicates are removed; a form that
 * contains another is kept here and dropped later by the search set, which sees all secrets.
 * An empty secret has no forms (it would match everywhere).
 *
 * @example
 * ```ts
 * secretForms('sk-test-123')
 * // ['sk-test-123', 'c2stdGVzdC0xMjM=', 'c2stdGVzdC0xMjM', ..., '736b2d746573742d313233', ...]
 * ```
 */
export function secretForms(secret: string): string[] {
  if (secret === '') return []
  const bytes = utf8(secret)
  const derived = [...percentForms(secret), ...base64Forms(bytes), ...hexForms(bytes), ...jsonForms(secret)]
  const forms = new Set([secret])
  for (const form of derived) if (utf8(form).length >= MIN_DERIVED_FORM_BYTES) forms.add(form)
  return [...forms]
}
