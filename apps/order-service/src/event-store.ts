import { createStatement } from '@comms/postgres';
import type { Pool, PoolClient, Statement } from '@comms/postgres';
import { AppError } from '@comms/service-kit';

/** An event as the store keeps it: the contract's type and data, plus its place in the stream. */
export interface StoredEvent {
  readonly streamId: string;
  readonly version: number;
  readonly eventId: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly occurredAt: Date;
  /**
   * Who caused it, as the CloudEvents `actor` attribute says it
   * (`user:<sub>`): undefined when authentication was off, and for events
   * stored before the column existed. Not part of the order's state: the
   * fold ignores it, so a rebuild is the same with or without it.
   */
  readonly actor?: string | undefined;
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
  actor: string | null;
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
  ...(row.actor === null ? {} : { actor: row.actor }),
});

/** What {@link appendPart} added to a statement. */
export interface Append {
  readonly streamId: string;
  /** The part that yields the stream's row when (and only when) the stream was at the expected version. */
  readonly guard: string;
  readonly stored: StoredEvent[];
}

/**
 * Adds to `statement` the append of `events` to a stream that must still be
 * at `expectedVersion` (0: the stream must not exist): the stream's version
 * moves and the events are inserted, or, when another writer got there
 * first, neither. Other parts that must only write with the append name
 * its `guard`; {@link runAppend} runs the statement and reports the conflict.
 */
export function appendPart(
  statement: Statement,
  streamId: string,
  expectedVersion: number,
  events: readonly NewEvent[],
): Append {
  const stream = statement.param(streamId, 'uuid');
  const newVersion = statement.param(expectedVersion + events.length, 'int');
  const guard = statement.with(
    'moved',
    expectedVersion === 0
      ? `INSERT INTO streams (stream_id, version) VALUES (${stream}, ${newVersion})
         ON CONFLICT DO NOTHING RETURNING stream_id`
      : `UPDATE streams SET version = ${newVersion}
          WHERE stream_id = ${stream} AND version = ${statement.param(expectedVersion, 'int')}
          RETURNING stream_id`,
  );
  const stored = events.map((event, i) => ({
    ...event,
    streamId,
    version: expectedVersion + i + 1,
  }));
  statement.with(
    'appended',
    `INSERT INTO events (stream_id, version, event_id, type, data, occurred_at, actor)
     SELECT ${guard}.stream_id, e.version, e.event_id, e.type, e.data, e.occurred_at, e.actor
       FROM ${guard}, unnest(${statement.param(
         stored.map((e) => e.version),
         'int[]',
       )}, ${statement.param(
         stored.map((e) => e.eventId),
         'uuid[]',
       )}, ${statement.param(
         stored.map((e) => e.type),
         'text[]',
       )}, ${statement.param(
         stored.map((e) => JSON.stringify(e.data)),
         'jsonb[]',
       )}, ${statement.param(
         stored.map((e) => e.occurredAt),
         'timestamptz[]',
       )}, ${statement.param(
         stored.map((e) => e.actor ?? null),
         'text[]',
       )}) AS e (version, event_id, type, data, occurred_at, actor)`,
  );
  return { streamId, guard, stored };
}

/**
 * Runs a statement holding an {@link appendPart}: one round trip and one
 * transaction for every part in it. When the stream had moved on, nothing
 * was written, and this fails with ABORTED and the current version.
 */
export async function runAppend(
  db: Pool | PoolClient,
  statement: Statement,
  append: Append,
  expectedVersion: number,
): Promise<StoredEvent[]> {
  const moved = await statement.run<{ stream_id: string }>(
    db,
    `SELECT stream_id::text FROM ${append.guard}`,
  );
  if (moved.length !== 1) {
    const { streamId } = append;
    const current = await db.query<{ version: number }>(
      'SELECT version FROM streams WHERE stream_id = $1',
      [streamId],
    );
    throw new AppError(
      'ABORTED',
      `order ${streamId} is at version ${current.rows[0]?.version ?? 0}, not ${expectedVersion}: it changed meanwhile; read it again and retry`,
    );
  }
  return append.stored;
}

/**
 * Appends events to a stream if it is still at `expectedVersion` (0: the
 * stream must not exist). Another writer that got there first makes this
 * fail with ABORTED and the current version; nothing is written.
 */
export async function appendToStream(
  db: Pool | PoolClient,
  streamId: string,
  expectedVersion: number,
  events: readonly NewEvent[],
): Promise<StoredEvent[]> {
  const statement = createStatement();
  const append = appendPart(statement, streamId, expectedVersion, events);
  return runAppend(db, statement, append, expectedVersion);
}

/** Every event of one stream, in version order. */
export async function readStream(db: Pool | PoolClient, streamId: string): Promise<StoredEvent[]> {
  const result = await db.query<Row>(
    `SELECT stream_id, version, event_id, type, data, occurred_at, actor, tx_id::text, global_position::text
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
    `SELECT stream_id, version, event_id, type, data, occurred_at, actor, tx_id::text, global_position::text
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
