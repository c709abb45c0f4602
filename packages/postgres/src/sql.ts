import { KeyholeError } from '@keyhole/core'

// Plain unquoted-style identifiers only; they are still double-quoted in every statement, so
// case is kept exactly and no name can be read as a keyword.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

function identifier(name: string, what: string, maxLength: number): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name) || name.length > maxLength) {
    throw new KeyholeError(
      'bad_request',
      `${what} must be letters, digits and underscores, not starting with a digit, at most ${maxLength} characters`,
    )
  }
  return `"${name}"`
}

/** A validated table name (`table` or `schema.table`), quoted, plus the name of its expiry index. */
export interface TableNames {
  /** `"schema"."table"` or `"table"` */
  readonly table: string
  /** `"table_expires_at_idx"` (indexes live in their table's schema) */
  readonly index: string
  /** the table name as given, for statement names */
  readonly raw: string
}

/**
 * Validates and quotes a table name. The name part is capped at 48 characters so that the
 * index name built from it stays under Postgres' 63-byte limit and is never truncated.
 */
export function tableNames(table: string): TableNames {
  const parts = typeof table === 'string' ? table.split('.') : []
  if (parts.length < 1 || parts.length > 2) {
    throw new KeyholeError('bad_request', 'table is a name or schema.name')
  }
  const name = parts[parts.length - 1] as string
  const quoted = parts.map((part, i) =>
    identifier(
      part,
      i === parts.length - 1 ? 'the table name' : 'the schema name',
      i === parts.length - 1 ? 48 : 63,
    ),
  )
  return { table: quoted.join('.'), index: `"${name}_expires_at_idx"`, raw: table }
}

/** Validates a LISTEN/NOTIFY channel name; returns it quoted for LISTEN. */
export function channelName(channel: string): string {
  return identifier(channel, 'the channel name', 63)
}

/**
 * The SQL that creates the revocation table and its index, for people who run their own
 * migrations (it is what `migrate()` runs). Idempotent.
 *
 * @example
 * ```ts
 * import { migrationSql } from '@keyhole/postgres'
 * console.log(migrationSql({ table: 'auth.keyhole_revocations' }))
 * ```
 */
export function migrationSql(options: { table?: string } = {}): string {
  const { table, index } = tableNames(options.table ?? 'keyhole_revocations')
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (`,
    '  jti        text        PRIMARY KEY,',
    '  expires_at timestamptz NOT NULL,',
    '  revoked_at timestamptz NOT NULL DEFAULT now()',
    ');',
    `CREATE INDEX IF NOT EXISTS ${index} ON ${table} (expires_at);`,
  ].join('\n')
}

/** The statements the store runs; values are always parameters, names validated and quoted. */
export function statements(names: TableNames) {
  const { table } = names
  // $n::float8 seconds of grace: a revocation counts until expires_at + grace
  const cutoff = (n: number) => `now() - make_interval(secs => $${n}::float8)`
  return {
    isRevoked: `SELECT 1 FROM ${table} WHERE jti = $1 AND expires_at > ${cutoff(2)}`,
    // Keeps the later expiry when revoked twice; announces the jti in the same statement, so
    // the NOTIFY goes out exactly when the row is committed. Nothing is written (or announced)
    // for a token already past expiry plus grace.
    revoke:
      `WITH upsert AS (` +
      ` INSERT INTO ${table} AS r (jti, expires_at) SELECT $1::text, $2::timestamptz WHERE $2::timestamptz > ${cutoff(4)}` +
      ` ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(r.expires_at, EXCLUDED.expires_at)` +
      ` RETURNING jti)` +
      ` SELECT pg_notify($3::text, jti) FROM upsert`,
    sweep:
      `DELETE FROM ${table} WHERE jti IN` +
      ` (SELECT jti FROM ${table} WHERE expires_at <= ${cutoff(1)} LIMIT $2::int)`,
  }
}
