import pg from 'pg';
import { parseDatabaseUrl } from './database-url.js';

/** A pg connection pool. Re-exported so that callers need no direct pg import. */
export type Pool = pg.Pool;
/** A client checked out of a {@link Pool}, or a single connection. */
export type PoolClient = pg.PoolClient;

/** Options for {@link createPool}. */
export interface CreatePoolOptions {
  /** A PostgreSQL URL, validated with {@link parseDatabaseUrl}. */
  readonly url: string;
  /** Shown in `pg_stat_activity`, so an operator sees who holds a connection. */
  readonly applicationName?: string;
  /** Largest number of connections the pool opens. Default 10. */
  readonly max?: number;
  /** Give up connecting after this many milliseconds. Default 5000. */
  readonly connectionTimeoutMillis?: number;
  /** Fail a query that has not answered after this many milliseconds. Default: no limit. */
  readonly queryTimeoutMillis?: number;
  /** Called when an idle connection fails, for example when the server restarts. */
  readonly onError?: (error: Error) => void;
}

/**
 * Creates a connection pool. An idle connection that breaks (the server
 * restarted, the network dropped) is reported to `onError` instead of
 * crashing the process; the pool opens a new one on the next query.
 */
export function createPool(options: CreatePoolOptions): Pool {
  parseDatabaseUrl(options.url);
  const pool = new pg.Pool({
    connectionString: options.url,
    application_name: options.applicationName ?? 'comms',
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: 30_000,
    ...(options.queryTimeoutMillis === undefined
      ? {}
      : { query_timeout: options.queryTimeoutMillis }),
  });
  pool.on('error', (error) => options.onError?.(error));
  return pool;
}

/**
 * Runs `work` inside one transaction on a client of `pool`: commits when it
 * resolves, rolls back when it throws, and always returns the client.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      // The connection itself is gone: do not hand it back to the pool.
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
