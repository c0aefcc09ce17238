export { parseDatabaseUrl, redactDatabaseUrl, withDatabase } from './database-url.js';
export type { DatabaseUrl } from './database-url.js';
export {
  createPool,
  DEFAULT_POOL_SIZE,
  preparePerConnection,
  statementName,
  withTransaction,
} from './pool.js';
export type { CreatePoolOptions, Pool, PoolClient } from './pool.js';
export { migrate } from './migrate.js';
export { createStatement } from './statement.js';
export type { Statement } from './statement.js';
export type { Migration } from './migrate.js';
export { databaseUrlFromSecret, databaseUrlOf } from './secret.js';
export { isDatabaseUnavailable } from './unavailable.js';
