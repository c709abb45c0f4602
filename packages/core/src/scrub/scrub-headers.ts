import type { Automaton } from './automaton.js'
import { scrubBytesWith } from './scrub-bytes.js'
import { scrubTextWith } from './scrub-text.js'

/**
 * Masks every match in every header value of `headers`, in place, and returns how many matches
 * there were. Every header counts (`Location`, `Link`, `WWW-Authenticate`, `Content-Disposition`,
 * custom ones...); each `Set-Cookie` is scrubbed on its own and they stay separate headers. A
 * masked header stays, with its masked value, so a response keeps its shape. Header names are not
 * searched. `headers` must be mutable: copy a `fetch` response's headers first.
 *
 * @example
 * ```ts
 * const headers = new Headers(upstream.headers)
 * const masked = scrubHeadersWith(automaton, headers) // Location: /cb?key=*********** → 1
 * ```
 */
export function scrubHeadersWith(automaton: Automaton, headers: Headers): number {
  let count = 0
  for (const name of new Set(headers.keys())) {
    if (name === 'set-cookie' && typeof headers.getSetCookie === 'function') {
      const cookies = headers.getSetCookie()
      let changed = false
      const masked = cookies.map((cookie) => {
        const result = scrubValue(automaton, cookie)
        count += result.count
        changed ||= result.count > 0
        return result.value
      })
      if (!changed) continue
      headers.delete('set-cookie')
      for (const cookie of masked) headers.append('set-cookie', cookie)
    } else {
      const value = headers.get(name)
      if (value === null) continue
      const result = scrubValue(automaton, value)
      if (result.count === 0) continue
      count += result.count
      headers.set(name, result.value)
    }
  }
  return count
}

/**
 * Header values are byte strings (one character per byte), so a secret with non-ASCII
 * characters appears as its UTF-8 bytes spelled as Latin-1: search those bytes, not the UTF-8 of
 * the characters. A value with a character above U+00FF is not a byte string; it is searched as
 * text.
 */
function scrubValue(automaton: Automaton, value: string): { value: string; count: number } {
  const bytes = new Uint8Array(value.length)
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i)
    if (unit > 0xff) {
      const { text, count } = scrubTextWith(automaton, value)
      return { value: text, count }
    }
    bytes[i] = unit
  }
  const count = scrubBytesWith(automaton, bytes)
  if (count === 0) return { value, count }
  let masked = ''
  for (const byte of bytes) masked += String.fromCharCode(byte)
  return { value: masked, count }
}
