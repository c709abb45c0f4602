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

/**
 * A JWKS fetch failure as a person at the terminal reads it: core's message (which names only
 * the URL's origin) with the system error code, and without library option names the command
 * line has no flag for.
 *
 * @example
 * ```ts
 * jwksProblem(error) // 'could not get the JWKS from https://proxy.example: ... (ECONNREFUSED)'
 * ```
 */
export function jwksProblem(error: Error): string {
  const reason = networkReason(error)
  const message = error.message.replace(
    /; use https: or set allowInsecureHttp$/,
    '; use https: (plain http: only to 127.0.0.1, [::1] or localhost)',
  )
  return `${message}${reason ? ` (${reason})` : ''}`
}
