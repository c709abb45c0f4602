// @keyhole/postgres: a revocation store in your own Postgres, with LISTEN/NOTIFY push, and a
// proof replay cache shared by every replica.
export {
  createPostgresReplayCache,
  type PostgresReplayCache,
  type PostgresReplayCacheOptions,
} from './postgres-replay-cache.js'
export { createPostgresStore, type PostgresStore, type PostgresStoreOptions } from './postgres-store.js'
export { replayMigrationSql } from './replay-sql.js'
export { migrationSql } from './sql.js'
