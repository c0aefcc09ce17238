import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, migrate, withTransaction } from '@comms/postgres';
import type { Pool } from '@comms/postgres';
import { createTestDatabase, waitFor } from '@comms/testing';
import type { TestDatabase } from '@comms/testing';
import { appendToStream, readAll } from './event-store.js';
import type { Checkpoint, StoredEvent } from './event-store.js';
import { MIGRATIONS } from './migrations.js';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase('event_store');
  pool = createPool({ url: db.url, max: 8 });
  await migrate(pool, MIGRATIONS);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

const event = (label: string) => ({
  eventId: randomUUID(),
  type: 'test.event.v1',
  data: { label },
  occurredAt: new Date(),
});

async function appendCommitted(label: string): Promise<StoredEvent> {
  const [stored] = await withTransaction(pool, (client) =>
    appendToStream(client, randomUUID(), 0, [event(label)]),
  );
  if (stored === undefined) throw new Error('nothing appended');
  return stored;
}

/**
 * Waits until no transaction older than the newest stored event is running.
 * Transaction ids are cluster-wide, so another test file's open transaction
 * on the shared server holds every commit-safe reader back; the error names it.
 */
async function waitForCommitHorizon(): Promise<void> {
  await waitFor(
    async () => {
      const horizon = await pool.query<{ passed: boolean }>(
        `SELECT pg_snapshot_xmin(pg_current_snapshot()) > coalesce(max(tx_id), '0'::xid8) AS passed
           FROM events`,
      );
      if (horizon.rows[0]?.passed === true) return true;
      const held = await pool.query<{ who: string }>(
        `SELECT format('pid %s in %s (%s for %s): %s', pid, datname, state,
                       now() - xact_start, left(query, 120)) AS who
           FROM pg_stat_activity WHERE backend_xid IS NOT NULL ORDER BY xact_start LIMIT 3`,
      );
      throw new Error(`held back by ${held.rows.map((r) => r.who).join('; ')}`);
    },
    { timeoutMs: 60_000, message: 'transactions older than the stored events never finished' },
  );
}

/** Reads every page after `from`; more pages than `bound` can only mean a page repeated. */
async function readPages(
  from: Checkpoint | undefined,
  pageSize: number,
  bound: number,
): Promise<{ ids: string[]; checkpoint: Checkpoint | undefined }> {
  let checkpoint = from;
  const ids: string[] = [];
  for (let pages = 0; pages <= bound; pages += 1) {
    const page = await readAll(pool, checkpoint, pageSize);
    if (page.events.length === 0) break;
    ids.push(...page.events.map((e) => e.eventId));
    checkpoint = page.checkpoint;
  }
  return { ids, checkpoint };
}

describe('reading the whole store', () => {
  it('reads it in commit-safe pages, each event exactly once', async () => {
    const written: string[] = [];
    for (let i = 0; i < 17; i += 1) written.push((await appendCommitted(`e${String(i)}`)).eventId);
    await waitForCommitHorizon();
    const { ids } = await readPages(undefined, 7, written.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(written));
  }, 90_000);

  it('never skips a transaction that commits after a later one', async () => {
    await waitForCommitHorizon();
    const start = (await readPages(undefined, 100, 1000)).checkpoint;

    // A starts first (lower transaction id) and commits last.
    const late = await pool.connect();
    let lateEvent: StoredEvent | undefined;
    try {
      await late.query('BEGIN');
      [lateEvent] = await appendToStream(late, randomUUID(), 0, [event('late')]);
      const early = await appendCommitted('early');

      // While A is open, a reader must not move past it: it sees neither.
      const during = await readPages(start, 100, 10);
      expect(during.ids).not.toContain(early.eventId);

      await late.query('COMMIT');
      await waitForCommitHorizon();
      // Carry on from where the reader stopped, as a subscriber would.
      const after = await readPages(during.checkpoint, 100, 10);
      const all = [...during.ids, ...after.ids];
      expect(all.filter((id) => id === lateEvent?.eventId)).toHaveLength(1);
      expect(all.filter((id) => id === early.eventId)).toHaveLength(1);
      // In commit-safe order: by transaction, so A's event comes first.
      expect(all.indexOf(lateEvent?.eventId ?? '')).toBeLessThan(all.indexOf(early.eventId));
    } finally {
      await late.query('ROLLBACK').catch(() => undefined);
      late.release();
    }
  }, 90_000);
});
