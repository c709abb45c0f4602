import { usageError } from './cli-error.js'

/**
 * Parses `--exp`: seconds since the epoch (`1767225600`) or an ISO-8601 date (`2026-01-01T00:00:00Z`).
 *
 * @example
 * ```ts
 * parseExpiry('1767225600', '--exp') // Date 2026-01-01T00:00:00.000Z
 * ```
 */
export function parseExpiry(value: string, flag: string): Date {
  const date = /^\d+$/.test(value) ? new Date(Number(value) * 1000) : new Date(value)
  if (!/^\d/.test(value) || Number.isNaN(date.getTime()))
    throw usageError(
      `${flag} must be seconds since the epoch (the token's "exp") or an ISO date such as 2026-01-01T00:00:00Z`,
    )
  return date
}
