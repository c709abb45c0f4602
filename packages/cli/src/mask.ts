/** What a masked credential value is shown as. */
export const MASK = '***'

/**
 * The fields of each credential kind that are safe to show: where the credential goes and how it
 * is used, never what it is. Everything else in an entry is masked, so a secret field of a kind
 * added later (or of a plug-in this list does not know) is hidden by default, not shown.
 */
const PUBLIC_FIELDS: Readonly<Record<string, readonly string[]>> = {
  header: ['name'],
  query: ['name'],
  cookie: ['name'],
  basic: ['username'],
  body: ['field'],
  hmac: ['name', 'algorithm', 'encoding', 'prefix'],
  oauth2: ['tokenUrl', 'clientId', 'scope', 'audience', 'auth'],
  'aws-sigv4': ['accessKeyId', 'region', 'service'],
}

function maskEntry(entry: unknown): unknown {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return MASK
  const source = entry as Record<string, unknown>
  const kind = typeof source.type === 'string' ? source.type : source.in
  const shown = typeof kind === 'string' ? (PUBLIC_FIELDS[kind] ?? []) : []
  return Object.fromEntries(
    Object.entries(source).map(([field, value]) => [
      field,
      field === 'type' || field === 'in' || shown.includes(field) ? value : MASK,
    ]),
  )
}

/**
 * Returns a copy of a claims object with every secret field of every injected credential
 * (`value`, `password`, `key`, `clientSecret`, `refreshToken`, `secretAccessKey`,
 * `sessionToken`, and any field of a kind it does not know) replaced by {@link MASK}, so
 * `keyhole inspect --keys` can show what a token grants without showing the secret.
 *
 * @example
 * ```ts
 * maskClaims({ hosts: ['api.github.com'], inject: [{ type: 'header', name: 'Authorization', value: 'Bearer ghp_x' }] })
 * // { hosts: ['api.github.com'], inject: [{ type: 'header', name: 'Authorization', value: '***' }] }
 * ```
 */
export function maskClaims(claims: object): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(claims as Record<string, unknown>) }
  const inject = copy.inject
  if (Array.isArray(inject)) copy.inject = inject.map(maskEntry)
  else if (inject !== undefined) copy.inject = MASK
  return copy
}
