// @keyhole/postgres: a revocation store in your own Postgres, with LISTEN/NOTIFY push.
export { createPostgresStore, type PostgresStore, type PostgresStoreOptions } from './postgres-store.js'
export { migrationSql } from './sql.js'
