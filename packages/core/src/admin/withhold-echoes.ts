// Words keyhole's own messages use that a caller's body also holds as names or plain values;
// finding one of them in a message says nothing about what the caller sent.
const VOCABULARY = new Set([
  'hosts',
  'paths',
  'methods',
  'inject',
  'name',
  'value',
  'type',
  'header',
  'query',
  'cookie',
  'basic',
  'body',
  'hmac',
  'oauth2',
  'issuer',
  'POST',
  'HEAD',
  'PATCH',
  'DELETE',
  'OPTIONS',
])
// Shorter strings match too much ordinary text to tell an echo from a coincidence.
const MIN_LENGTH = 4

/**
 * `message`, unless it contains a string the caller sent in `body` (a value or a member name, at
 * any depth): then a fixed message saying the reason was withheld. The admin routes' messages are
 * written to name fields by position and never quote values; this is the net under that rule, for
 * a message somewhere below (a validator, a future field) that forgets it.
 */
export function withheldEchoes(message: string, body: unknown): string {
  for (const text of stringsOf(body)) {
    if (text.length >= MIN_LENGTH && !VOCABULARY.has(text) && message.includes(text)) {
      return 'the request was refused; the reason would quote a value from the request, so it is withheld'
    }
  }
  return message
}

// The body is bounded by the admin routes' size limit, so so is this walk.
function stringsOf(body: unknown): string[] {
  const found: string[] = []
  const stack: unknown[] = [body]
  while (stack.length > 0) {
    const value = stack.pop()
    if (typeof value === 'string') found.push(value)
    else if (Array.isArray(value)) stack.push(...value)
    else if (typeof value === 'object' && value !== null) {
      for (const [key, member] of Object.entries(value)) {
        found.push(key)
        stack.push(member)
      }
    }
  }
  return found
}
