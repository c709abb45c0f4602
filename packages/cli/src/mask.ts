/** What a masked credential value is shown as. */
export const MASK = '***'

/**
 * Returns a copy of a claims object with every injected credential value replaced by {@link MASK},
 * so `keyhole inspect --keys` can show what a token grants without showing the secret.
 *
 * @example
 * ```ts
 * maskClaims({ hosts: ['api.github.com'], inject: [{ in: 'header', name: 'Authorization', value: 'Bearer ghp_x' }] })
 * // { hosts: ['api.github.com'], inject: [{ in: 'header', name: 'Authorization', value: '***' }] }
 * ```
 */
export function maskClaims(claims: object): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(claims as Record<string, unknown>) }
  const inject = copy.inject
  if (Array.isArray(inject)) copy.inject = inject.map((entry) => ({ ...(entry as object), value: MASK }))
  else if (inject !== undefined) copy.inject = MASK
  return copy
}
