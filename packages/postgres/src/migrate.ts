import { createHash } from 'node:crypto';
import type { Pool } from './pool.js';

/** One versioned schema change. Versions only grow; a published migration never changes. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * Applies the migrations not applied yet, in version order, each in its own
 * transaction. Safe to run twice and from several instances at once: a
 * PostgreSQL advisory lock lets one instance migrate while the others wait,
 * then find nothing left to do. A changed published migration is refused.
 */
export async function migrate(pool: Pool, migrations: readonly Migration[]): Promise<number[]> {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    // One lock per database: only one migrator runs at a time.
    await client.query("SELECT pg_advisory_lock(hashtext('comms.schema_migrations'))");
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Map(
      (
        await client.query<{ version: number; checksum: string }>(
          'SELECT version, checksum FROM schema_migrations',
        )
      ).rows.map((r) => [r.version, r.checksum]),
    );
    for (const migration of sorted) {
      const checksum = createHash('sha256').update(migration.sql).digest('hex');
      const existing = done.get(migration.version);
      if (existing !== undefined) {
        if (existing !== checksum) {
          throw new Error(
            `migration ${migration.version} (${migration.name}) changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query(
          'INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
          [migration.version, migration.name, checksum],
        );
        await client.query('COMMIT');
        applied.push(migration.version);
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(
          `migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    }
  } finally {
    await client
      .query("SELECT pg_advisory_unlock(hashtext('comms.schema_migrations'))")
      .catch(() => undefined);
    client.release();
  }
  return applied;
}
