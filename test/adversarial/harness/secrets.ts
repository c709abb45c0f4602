// Every token and credential value a suite creates is registered here, and every piece of text
// the suite can observe (log lines, events, error bodies, proxy-made responses, store errors) is
// collected here, so one assertion can say: no secret appears anywhere.

const WINDOW = 16
// Secrets indexed by their first WINDOW characters, so a text is scanned once, whatever the count.
const byPrefix = new Map<string, string[]>()
const secrets = new Set<string>()
// Distinct texts only: thousands of identical error messages are checked once.
const observed = new Set<string>()

/** Registers a token or a credential value; returns it for chaining. */
export function secret<T extends string>(value: T): T {
  const add = (s: string) => {
    if (s.length < WINDOW || secrets.has(s)) return
    secrets.add(s)
    const prefix = s.slice(0, WINDOW)
    const list = byPrefix.get(prefix)
    if (list) list.push(s)
    else byPrefix.set(prefix, [s])
  }
  add(value)
  // A token's segments are as identifying as the token itself (a log could print one of them).
  if (value.split('.').length === 5) for (const part of value.split('.')) add(part)
  return value
}

/** A fresh, unique credential value: easy to spot in any output, never guessable from another. */
export function credential(label = 'cred'): string {
  const random = Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('hex')
  return secret(`${label}_SECRET_${random}`)
}

function describe(value: unknown, depth = 0): string {
  if (depth > 4) return ''
  if (value instanceof Error) {
    const extra = Object.entries(value).map(([k, v]) => `${k}=${typeof v === 'string' ? v : safeJson(v)}`)
    return `${value.name}: ${value.message} ${extra.join(' ')} ${describe((value as { cause?: unknown }).cause, depth + 1)}`
  }
  return typeof value === 'string' ? value : safeJson(value)
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** Records a piece of text someone could read (a log line, an event, an error with its cause chain ...). */
export function observe(source: string, text: unknown): void {
  observed.add(`${source}: ${describe(text)}`)
}

/** The registered secrets that occur in `text`. */
export function secretsIn(text: string): string[] {
  const found: string[] = []
  for (let i = 0; i + WINDOW <= text.length; i++) {
    const candidates = byPrefix.get(text.slice(i, i + WINDOW))
    if (!candidates) continue
    for (const s of candidates) if (text.startsWith(s, i)) found.push(s)
  }
  return found
}

/** True when `text` contains any registered secret. */
export function containsSecret(text: string): boolean {
  return secretsIn(text).length > 0
}

/** Every observed text that contains a registered secret. */
export function leaks(): { where: string; secret: string }[] {
  const found: { where: string; secret: string }[] = []
  for (const text of observed) {
    for (const s of secretsIn(text)) found.push({ where: text.slice(0, 300), secret: `${s.slice(0, 12)}…` })
  }
  return found
}

/** How much was collected, so a test can prove the leak check had something to look at. */
export function observedCount(): { texts: number; secrets: number } {
  return { texts: observed.size, secrets: secrets.size }
}
