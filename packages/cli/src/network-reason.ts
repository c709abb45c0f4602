/**
 * The system error code under a failed `fetch` (ECONNREFUSED, ENOTFOUND, ...), which tells a
 * person what to fix. Only the code is taken, never a message, which could quote a URL.
 *
 * @example
 * ```ts
 * networkReason(error) // 'ECONNREFUSED'
 * ```
 */
export function networkReason(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code
    current = current.cause
  }
  return undefined
}
