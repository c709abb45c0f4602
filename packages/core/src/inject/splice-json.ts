import { KeyholeError } from '../errors.js'

function badRequest(message: string): never {
  throw new KeyholeError('bad_request', message, { reason: 'body_credential' })
}

// The scanner below runs only on text JSON.parse accepted, so it can be small: it never has to
// decide whether something is valid, only where it starts and ends.
function skipWhitespace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break
    i++
  }
  return i
}

function endOfString(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    const c = text[i]
    if (c === '\\') i++
    else if (c === '"') return i + 1
  }
  return i
}

function endOfValue(text: string, i: number): number {
  const c = text[i]
  if (c === '"') return endOfString(text, i)
  if (c === '{' || c === '[') {
    let depth = 0
    for (; i < text.length; i++) {
      const d = text[i]
      if (d === '"') i = endOfString(text, i) - 1
      else if (d === '{' || d === '[') depth++
      else if (d === '}' || d === ']') {
        depth--
        if (depth === 0) return i + 1
      }
    }
    return i
  }
  while (i < text.length && !',}] \t\n\r'.includes(text[i]!)) i++
  return i
}

interface Member {
  readonly valueStart: number
  readonly valueEnd: number
}

/** The members of the object at `start` named `key`, in order. */
function membersNamed(text: string, start: number, key: string): Member[] {
  const found: Member[] = []
  let i = skipWhitespace(text, start + 1)
  if (text[i] === '}') return found
  for (;;) {
    const keyEnd = endOfString(text, i)
    const name = JSON.parse(text.slice(i, keyEnd)) as string
    const valueStart = skipWhitespace(text, skipWhitespace(text, keyEnd) + 1)
    const valueEnd = endOfValue(text, valueStart)
    if (name === key) found.push({ valueStart, valueEnd })
    i = skipWhitespace(text, valueEnd)
    if (text[i] !== ',') return found
    i = skipWhitespace(text, i + 1)
  }
}

/** The start of element `index` of the array at `start`, or -1. */
function elementAt(text: string, start: number, index: number): number {
  let i = skipWhitespace(text, start + 1)
  if (text[i] === ']') return -1
  for (let n = 0; ; n++) {
    if (n === index) return i
    i = skipWhitespace(text, endOfValue(text, i))
    if (text[i] !== ',') return -1
    i = skipWhitespace(text, i + 1)
  }
}

/** The one member named `key`; a repeated name is refused (parsers disagree on which one wins). */
function onlyMember(text: string, start: number, key: string, depth: number): Member | undefined {
  const members = membersNamed(text, start, key)
  if (members.length > 1) badRequest(`the JSON body repeats a member on the path of token ${depth + 1}`)
  return members[0]
}

/**
 * Sets the member a JSON pointer's tokens name to a string, in JSON text, by splicing: the new
 * value replaces the old one's bytes, or a new member is inserted right after the parent's `{`;
 * everything else — numbers beyond 2^53, escapes, spacing, member order — is left exactly as it
 * was. Intermediate tokens may step into arrays by index (`0`, `1`, ... within bounds); the
 * parent of the last token must be an object. Throws `KeyholeError('bad_request')` for malformed
 * JSON, a missing parent, a parent that is not an object, or a member repeated on the path.
 *
 * @example
 * ```ts
 * spliceJson('{"id":12345678901234567890,"auth":{}}', ['auth', 'key'], 's3cr3t')
 * // '{"id":12345678901234567890,"auth":{"key":"s3cr3t"}}'
 * ```
 */
export function spliceJson(text: string, tokens: readonly string[], value: string): string {
  // A byte-order mark is not JSON, but some clients send one; keep it and parse what follows.
  const bom = text.startsWith('\uFEFF') ? 1 : 0
  try {
    JSON.parse(bom ? text.slice(1) : text)
  } catch {
    badRequest('the request body is not valid JSON')
  }
  let at = skipWhitespace(text, bom)
  for (let depth = 0; depth < tokens.length - 1; depth++) {
    const token = tokens[depth]!
    if (text[at] === '{') {
      const member = onlyMember(text, at, token, depth)
      if (!member) badRequest(`the JSON body has no parent for the injected field (token ${depth + 1})`)
      at = member.valueStart
    } else if (text[at] === '[' && /^(?:0|[1-9][0-9]{0,8})$/.test(token)) {
      at = elementAt(text, at, Number(token))
      if (at === -1) badRequest(`the JSON body has no parent for the injected field (token ${depth + 1})`)
    } else {
      badRequest(`the JSON body has no object on the path of the injected field (token ${depth + 1})`)
    }
  }
  if (text[at] !== '{') badRequest('the parent of the injected JSON field is not an object')
  const key = tokens[tokens.length - 1]!
  const encoded = JSON.stringify(value)
  const member = onlyMember(text, at, key, tokens.length - 1)
  if (member) return text.slice(0, member.valueStart) + encoded + text.slice(member.valueEnd)
  const empty = text[skipWhitespace(text, at + 1)] === '}'
  return `${text.slice(0, at + 1)}${JSON.stringify(key)}:${encoded}${empty ? '' : ','}${text.slice(at + 1)}`
}
