import { format } from 'node:util'
import type { ProxyEvent } from '@keyhole/core'

/**
 * Everything the suite's proxies say, collected across every scenario so one test at the end
 * can assert that no token and no credential value appears in any of it.
 */
export const leaks = {
  /** Tokens and credential values used anywhere in the suite. */
  secrets: new Set<string>(),
  /** Every console line written while the suite ran. */
  lines: [] as string[],
  /** Every onEvent event of every proxy. */
  events: [] as ProxyEvent[],
  /** Bodies (and headers) of responses the proxies produced themselves (errors, admin routes). */
  bodies: [] as string[],
}

/** Registers values that must never show up in logs, events or proxy-made responses. */
export function secret<T extends string>(value: T): T {
  leaks.secrets.add(value)
  return value
}

/** The onEvent hook every test proxy gets. */
export function recordEvent(event: ProxyEvent): void {
  leaks.events.push(structuredClone(event))
}

/** Records a response the proxy produced itself (it carries X-Keyhole-Error or came from an admin route). */
export function recordProxyResponse(headers: Record<string, unknown>, body: string): void {
  leaks.bodies.push(`${JSON.stringify(headers)}\n${body}`)
}

const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const
let restore: (() => void) | undefined

/**
 * Wraps console methods and process.stdout/stderr writes so every line is collected (and still
 * printed). Returns a function that undoes it.
 */
export function captureConsole(): () => void {
  if (restore) return restore
  const originals = METHODS.map((name) => [name, console[name]] as const)
  for (const [name, original] of originals) {
    console[name] = (...args: unknown[]) => {
      leaks.lines.push(format(...args))
      original.apply(console, args)
    }
  }
  const streams = [process.stdout, process.stderr] as const
  const writes = streams.map((stream) => stream.write)
  streams.forEach((stream, i) => {
    const write = writes[i]!
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      leaks.lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'))
      return (write as (...a: unknown[]) => boolean).call(stream, chunk, ...rest)
    }) as typeof stream.write
  })
  restore = () => {
    for (const [name, original] of originals) console[name] = original
    streams.forEach((stream, i) => {
      stream.write = writes[i]!
    })
    restore = undefined
  }
  return restore
}

/** Every collected place a secret would show up in, with where it came from. */
export function findLeaks(): string[] {
  const haystacks: Array<[string, string]> = [
    ...leaks.lines.map((line, i) => [`console line ${i}`, line] as [string, string]),
    ...leaks.events.map((event, i) => [`event ${i}`, JSON.stringify(event)] as [string, string]),
    ...leaks.bodies.map((body, i) => [`proxy response ${i}`, body] as [string, string]),
  ]
  const found: string[] = []
  for (const value of leaks.secrets) {
    for (const [where, text] of haystacks) {
      if (text.includes(value)) found.push(`${where} contains a secret of length ${value.length}`)
    }
  }
  return found
}
