import { createHash } from 'node:crypto';
import pg from 'pg';
import { parseDatabaseUrl } from './database-url.js';

/** A pg connection pool. Re-exported so that callers need no direct pg import. */
export type Pool = pg.Pool;
/** A client checked out of a {@link Pool}, or a single connection. */
export type PoolClient = pg.PoolClient;

/**
 * Connections a pool opens when {@link CreatePoolOptions.max} is not given;
 * the size of every service pool that does not choose its own.
 */
export const DEFAULT_POOL_SIZE = 10;

/** Options for {@link createPool}. */
export interface CreatePoolOptions {
  /** A PostgreSQL URL, validated with {@link parseDatabaseUrl}. */
  readonly url: string;
  /** Shown in `pg_stat_activity`, so an operator sees who holds a connection. */
  readonly applicationName?: string;
  /** Largest number of connections the pool opens. Default {@link DEFAULT_POOL_SIZE}. */
  readonly max?: number;
  /** Give up connecting after this many milliseconds. Default 5000. */
  readonly connectionTimeoutMillis?: number;
  /** Fail a query that has not answered after this many milliseconds. Default: no limit. */
  readonly queryTimeoutMillis?: number;
  /** Called when an idle connection fails, for example when the server restarts. */
  readonly onError?: (error: Error) => void;
  /**
   * Prepare each parameterized statement once per connection and reuse it
   * (see {@link preparePerConnection}). Default true. Turn it off behind a
   * pooler that does not keep prepared statements, such as PgBouncer in
   * transaction mode before 1.21.
   */
  readonly prepareStatements?: boolean;
}

// The services run a fixed set of statement texts, so names are worked out
// once per text (hashing on every query showed in CPU profiles); the bound
// keeps a caller that builds texts on the fly from growing it without end.
const NAMES = new Map<string, string>();
const MAX_NAMES = 1000;

/** The prepared-statement name of a statement's text: stable, and unique per text. */
export function statementName(text: string): string {
  let name = NAMES.get(text);
  if (name === undefined) {
    name = `comms_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    if (NAMES.size >= MAX_NAMES) NAMES.clear();
    NAMES.set(text, name);
  }
  return name;
}

/**
 * Makes every parameterized query on `client` a named prepared statement:
 * PostgreSQL parses and plans it the first time this connection runs it,
 * then only binds and executes. For the short statements of these services
 * that halves the server's work per query (measured in docs/benchmarks.md).
 * Statements with `*` (SELECT *, RETURNING *) are left unnamed: their
 * result shape could change under them when a migration adds a column, and
 * PostgreSQL refuses to run such a cached plan. Queries without parameters
 * (migrations, BEGIN, COMMIT) keep the simple protocol.
 */
export function preparePerConnection(client: pg.ClientBase): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const prepared = (...args: unknown[]): unknown => {
    const [text, values] = args;
    if (typeof text === 'string' && Array.isArray(values) && !text.includes('*')) {
      return query({ name: statementName(text), text, values }, ...args.slice(2));
    }
    return query(...args);
  };
  Object.assign(client, { query: prepared });
}

/**
 * Creates a connection pool. A connection that breaks (the server
 * restarted, the network dropped), idle or checked out, is reported to
 * `onError` instead of crashing the process; the pool opens a new one on
 * the next query.
 */
export function createPool(options: CreatePoolOptions): Pool {
  parseDatabaseUrl(options.url);
  const pool = new pg.Pool({
    connectionString: options.url,
    application_name: options.applicationName ?? 'comms',
    max: options.max ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: 30_000,
    ...(options.queryTimeoutMillis === undefined
      ? {}
      : { query_timeout: options.queryTimeoutMillis }),
  });
  pool.on('error', (error) => options.onError?.(error));
  pool.on('connect', (client) => {
    // pg-pool listens for errors only on idle clients. A client checked out
    // between two queries (inside a transaction, or while the outbox relay
    // publishes) that loses its server (restart, failover) would emit an
    // 'error' nobody hears and crash the process. Heard here, the next
    // query on it fails instead, and the pool discards it on release.
    client.on('error', (error) => options.onError?.(error));
  });
  if (options.prepareStatements ?? true) pool.on('connect', preparePerConnection);
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
