import { type TableNames, tableNames } from './sql.js'

/** The replay cache's default table. */
export const DEFAULT_REPLAY_TABLE = 'keyhole_proofs'

/**
 * The SQL that creates the proof replay table and its index, for people who run their own
 * migrations (it is what the replay cache's `migrate()` runs). Idempotent.
 *
 * @example
 * ```ts
 * import { replayMigrationSql } from '@keyhole/postgres'
 * console.log(replayMigrationSql({ table: 'auth.keyhole_proofs' }))
 * ```
 */
export function replayMigrationSql(options: { table?: string } = {}): string {
  const { table, index } = tableNames(options.table ?? DEFAULT_REPLAY_TABLE)
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (`,
    '  id         text        PRIMARY KEY,',
    '  expires_at timestamptz NOT NULL',
    ');',
    `CREATE INDEX IF NOT EXISTS ${index} ON ${table} (expires_at);`,
  ].join('\n')
}

/** The statements the replay cache runs; values are always parameters, names validated and quoted. */
export function replayStatements(names: TableNames) {
  const { table } = names
  return {
    // One atomic statement: a new id is inserted; a known id whose entry has expired (by the
    // database clock) is taken over; a live one is left alone and returns no row. Concurrent
    // claims of one id serialize on its primary key, so exactly one of them returns a row.
    claim:
      `INSERT INTO ${table} AS t (id, expires_at) VALUES ($1::text, $2::timestamptz)` +
      ' ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE t.expires_at <= now()' +
      ' RETURNING 1',
    sweep:
      `DELETE FROM ${table} WHERE id IN` +
      ` (SELECT id FROM ${table} WHERE expires_at <= now() LIMIT $1::int)`,
  }
}
