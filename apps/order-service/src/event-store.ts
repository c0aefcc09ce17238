import type { Pool, PoolClient } from '@comms/postgres';
import { AppError } from '@comms/service-kit';

/** An event as the store keeps it: the contract's type and data, plus its place in the stream. */
export interface StoredEvent {
  readonly streamId: string;
  readonly version: number;
  readonly eventId: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly occurredAt: Date;
}

/** An event to append. */
export type NewEvent = Omit<StoredEvent, 'streamId' | 'version'>;

/** Where a reader of the whole store stopped: (transaction, position). */
export interface Checkpoint {
  readonly txId: string;
  readonly position: string;
}

interface Row {
  stream_id: string;
  version: number;
  event_id: string;
  type: string;
  data: Record<string, unknown>;
  occurred_at: Date;
  tx_id: string;
  global_position: string;
}

const toStored = (row: Row): StoredEvent => ({
  streamId: row.stream_id,
  version: row.version,
  eventId: row.event_id,
  type: row.type,
  data: row.data,
  occurredAt: row.occurred_at,
});

/**
 * Appends events to a stream if it is still at `expectedVersion` (0: the
 * stream must not exist). Another writer that got there first makes this
 * fail with ABORTED and the current version; nothing is written.
 */
export async function appendToStream(
  client: PoolClient,
  streamId: string,
  expectedVersion: number,
  events: readonly NewEvent[],
): Promise<StoredEvent[]> {
  const newVersion = expectedVersion + events.length;
  const moved =
    expectedVersion === 0
      ? await client.query(
          'INSERT INTO streams (stream_id, version) VALUES ($1, $2) ON CONFLICT DO NOTHING',
          [streamId, newVersion],
        )
      : await client.query(
          'UPDATE streams SET version = $3 WHERE stream_id = $1 AND version = $2',
          [streamId, expectedVersion, newVersion],
        );
  if (moved.rowCount !== 1) {
    const current = await client.query<{ version: number }>(
      'SELECT version FROM streams WHERE stream_id = $1',
      [streamId],
    );
    throw new AppError(
      'ABORTED',
      `order ${streamId} is at version ${current.rows[0]?.version ?? 0}, not ${expectedVersion}: it changed meanwhile; read it again and retry`,
    );
  }
  const stored = events.map((event, i) => ({
    ...event,
    streamId,
    version: expectedVersion + i + 1,
  }));
  for (const event of stored) {
    await client.query(
      `INSERT INTO events (stream_id, version, event_id, type, data, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        streamId,
        event.version,
        event.eventId,
        event.type,
        JSON.stringify(event.data),
        event.occurredAt,
      ],
    );
  }
  return stored;
}

/** Every event of one stream, in version order. */
export async function readStream(db: Pool | PoolClient, streamId: string): Promise<StoredEvent[]> {
  const result = await db.query<Row>(
    `SELECT stream_id, version, event_id, type, data, occurred_at, tx_id::text, global_position::text
       FROM events WHERE stream_id = $1 ORDER BY version`,
    [streamId],
  );
  return result.rows.map(toStored);
}

/**
 * Reads the whole store after `after`, in commit-safe order: only events of
 * transactions older than every transaction still running, ordered by
 * (transaction, position). A transaction that commits late can never be
 * skipped by a reader that moves its checkpoint forward. Transaction ids are
 * cluster-wide: a transaction left open anywhere on the server (any database)
 * holds every reader back until it ends, so keep transactions short.
 */
export async function readAll(
  db: Pool | PoolClient,
  after: Checkpoint = { txId: '0', position: '0' },
  limit = 1000,
): Promise<{ events: StoredEvent[]; checkpoint: Checkpoint }> {
  const result = await db.query<Row>(
    `SELECT stream_id, version, event_id, type, data, occurred_at, tx_id::text, global_position::text
       FROM events
      WHERE (tx_id, global_position) > ($1::xid8, $2::bigint)
        AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY tx_id, global_position
      LIMIT $3`,
    [after.txId, after.position, limit],
  );
  const last = result.rows.at(-1);
  return {
    events: result.rows.map(toStored),
    checkpoint: last === undefined ? after : { txId: last.tx_id, position: last.global_position },
  };
}
