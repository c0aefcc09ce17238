import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import pg from 'pg';
import { withDatabase } from '@comms/postgres';

/** The run's PostgreSQL and Kafka, as provided by the global setup. */
export function testInfra(): { databaseUrl: string; kafkaBrokers: string } {
  const infra = inject('commsInfra');
  if (infra === undefined) {
    throw new Error(
      "no test infra: add globalSetup: ['@comms/testing/global-setup'] to this package's vitest config",
    );
  }
  return infra;
}

/** A name no other test uses: `prefix-<random>`, safe as a topic or group id. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** A database that belongs to one test file. */
export interface TestDatabase {
  readonly name: string;
  /** Superuser URL of the new database. */
  readonly url: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database for one test file; creating a database costs
 * milliseconds where starting a server costs seconds.
 */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const { databaseUrl } = testInfra();
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(databaseUrl, name),
    async drop() {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Waits until `check` returns a value other than undefined, polling every
 * `intervalMs`; fails with `message` and the last error after `timeoutMs`.
 * Use it instead of sleeping: it waits only as long as needed.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const last = lastError instanceof Error ? lastError.message : JSON.stringify(lastError);
      const suffix = lastError === undefined ? '' : `; last error: ${last}`;
      throw new Error(`${options.message ?? 'condition not met'} within ${timeoutMs} ms${suffix}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}
