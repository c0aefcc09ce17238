import { backoffDelay } from '@comms/resilience';
import type { KafkaProducer } from '@comms/kafka';
import { createStatement } from '@comms/postgres';
import type { Migration, Pool, PoolClient, Statement } from '@comms/postgres';
import { detached, meter, withTraceHeaders } from '@comms/telemetry';
import type { BatchObservableCallback } from '@comms/telemetry';

/**
 * The transactional outbox. A service writes the event into `outbox` in the
 * same transaction as the change it describes; the relay publishes rows to
 * Kafka in id order and marks them sent. Nothing is lost: a row stays
 * unpublished until Kafka acknowledged it, however long Kafka is down.
 *
 * Rows are picked by `published_at IS NULL`, never by a high-water mark, so
 * a transaction that commits after a later one (ids are taken at insert,
 * visibility comes at commit) is still published. One relay publishes at a
 * time per database (an advisory lock), so two instances of a service never
 * publish the same row twice in normal operation. A crash between Kafka's
 * acknowledgement and the commit re-publishes that batch: delivery is
 * at-least-once and consumers deduplicate by event id.
 */
export const OUTBOX_MIGRATION: Migration = {
  version: 1000,
  name: 'outbox',
  sql: `CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    topic text NOT NULL,
    message_key text,
    payload text NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
  );
  CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;`,
};

/** A message to publish once the surrounding transaction commits. */
export interface OutboxMessage {
  readonly topic: string;
  readonly key: string | null;
  readonly payload: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Adds to `statement` the write of messages to the outbox, in one INSERT
 * whatever their number; with `guard`, only when that part yields a row
 * (so an event is queued only if the change it describes was written).
 * Each row keeps the trace context of the request that wrote it
 * (`traceparent` in its headers), so its publish and everything a consumer
 * does with it join that request's trace.
 */
export function enqueuePart(
  statement: Statement,
  messages: readonly OutboxMessage[],
  guard?: string,
): void {
  statement.with(
    'queued',
    `INSERT INTO outbox (topic, message_key, payload, headers)
     SELECT m.topic, m.message_key, m.payload, m.headers
       FROM unnest(${statement.param(
         messages.map((m) => m.topic),
         'text[]',
       )}, ${statement.param(
         messages.map((m) => m.key),
         'text[]',
       )}, ${statement.param(
         messages.map((m) => m.payload),
         'text[]',
       )}, ${statement.param(
         messages.map((m) => JSON.stringify(withTraceHeaders(m.headers))),
         'jsonb[]',
       )}) WITH ORDINALITY AS m (topic, message_key, payload, headers, ord)${
         guard === undefined ? '' : `\n      WHERE EXISTS (SELECT 1 FROM ${guard})`
       }
      ORDER BY m.ord`,
  );
}

/**
 * Writes messages to the outbox on `client`, inside the caller's
 * transaction, in one statement (see {@link enqueuePart}).
 */
export async function enqueue(
  client: PoolClient,
  messages: readonly OutboxMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  const statement = createStatement();
  enqueuePart(statement, messages);
  await statement.run(client, 'SELECT 1');
}

/** The relay that publishes the outbox. */
export interface OutboxRelay {
  /** Publishes what is pending now; resolves with the number of rows sent. */
  flush(): Promise<number>;
  /**
   * Asks for a poll now instead of at the next interval. Call it after a
   * transaction that enqueued messages commits: the event leaves within
   * milliseconds instead of waiting up to `pollMs`. Rows written by other
   * processes are still found by the regular poll. Ignored while the relay
   * backs off after failures.
   */
  wake(): void;
  /** Rows not yet published and the age of the oldest, for readiness and metrics. */
  backlog(): Promise<{ rows: number; oldestAgeMs: number }>;
  /** Stops polling after one last flush attempt. */
  stop(): Promise<void>;
}

/** Options for {@link startOutboxRelay}. */
export interface OutboxRelayOptions {
  readonly pool: Pool;
  readonly producer: KafkaProducer;
  /** Milliseconds between polls when idle (and not woken). Default 100. */
  readonly pollMs?: number;
  /** Rows per Kafka batch. Default 100. */
  readonly batchSize?: number;
  readonly log?: {
    warn(obj: unknown, msg: string): void;
    info(obj: unknown, msg: string): void;
  };
}

/** Starts the relay loop; it keeps going until {@link OutboxRelay.stop}. */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const pollMs = options.pollMs ?? 100;
  const batchSize = options.batchSize ?? 100;
  let stopped = false;
  let failures = 0;
  let running: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;
  // A tick is running; a wake that arrives meanwhile asks for another one right after.
  let ticking = false;
  let wokenWhileTicking = false;

  const publishBatch = async (): Promise<number> => {
    const client = await options.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const lock = await client.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_xact_lock(hashtext('comms.outbox.relay')) AS locked",
      );
      if (lock.rows[0]?.locked !== true) {
        await client.query('ROLLBACK');
        return 0;
      }
      const rows = await client.query<{
        id: string;
        topic: string;
        message_key: string | null;
        payload: string;
        headers: Record<string, string>;
      }>(
        'SELECT id, topic, message_key, payload, headers FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1',
        [batchSize],
      );
      if (rows.rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      // Keep id order per topic: Kafka keeps order per key within a partition.
      const byTopic = new Map<string, typeof rows.rows>();
      for (const row of rows.rows) byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), row]);
      for (const [topic, list] of byTopic) {
        await options.producer.send(
          topic,
          list.map((row) => ({ key: row.message_key, value: row.payload, headers: row.headers })),
        );
      }
      await client.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [
        rows.rows.map((r) => r.id),
      ]);
      await client.query('COMMIT');
      return rows.rows.length;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
      throw error;
    } finally {
      client.release(broken);
    }
  };

  const flush = async (): Promise<number> => {
    // One batch loop at a time in this process.
    while (running !== undefined) await running.catch(() => 0);
    running = (async () => {
      let total = 0;
      for (;;) {
        const sent = await publishBatch();
        total += sent;
        if (sent < batchSize) return total;
      }
    })();
    try {
      return await running;
    } finally {
      running = undefined;
    }
  };

  // wake() is called from requests: keep the loop out of their traces.
  const schedule = (delay: number) => {
    clearTimeout(timer);
    timer = detached(() => setTimeout(() => void tick(), delay));
  };

  const tick = async () => {
    if (stopped) return;
    ticking = true;
    wokenWhileTicking = false;
    let delay = pollMs;
    try {
      await flush();
      if (failures > 0) options.log?.info({ failures }, 'outbox relay recovered');
      failures = 0;
    } catch (error) {
      failures += 1;
      // Backs off while Kafka or PostgreSQL is away (the project's one
      // backoff: exponential with full jitter), capped at 5 s.
      delay = backoffDelay(failures, { baseDelayMs: pollMs * 2, maxDelayMs: 5_000 });
      if (failures === 1 || failures % 10 === 0) {
        options.log?.warn(
          { err: error, failures, retryInMs: Math.round(delay) },
          'outbox relay cannot publish; will retry',
        );
      }
    }
    ticking = false;
    if (wokenWhileTicking && failures === 0) delay = 0;
    if (!stopped) schedule(delay);
  };
  schedule(0);

  const backlog = async () => {
    const result = await options.pool.query<{ rows: string; oldest: string | null }>(
      `SELECT count(*)::text AS rows,
              (extract(epoch FROM now() - min(created_at)) * 1000)::bigint::text AS oldest
         FROM outbox WHERE published_at IS NULL`,
    );
    const row = result.rows[0];
    return { rows: Number(row?.rows ?? 0), oldestAgeMs: Number(row?.oldest ?? 0) };
  };

  // Backlog metrics, read when metrics are collected (a scrape), at most once a second.
  const m = meter();
  const rowsGauge = m.createObservableGauge('comms.outbox.backlog', {
    description: 'Outbox rows not yet published to Kafka.',
  });
  const ageGauge = m.createObservableGauge('comms.outbox.oldest_age', {
    unit: 's',
    description: 'Age of the oldest unpublished outbox row (0 when there is none).',
  });
  let cached: { at: number; value: Promise<{ rows: number; oldestAgeMs: number }> } | undefined;
  const observeBacklog: BatchObservableCallback = async (result) => {
    if (cached === undefined || Date.now() - cached.at > 1_000)
      cached = { at: Date.now(), value: detached(backlog) };
    const now = await cached.value.catch(() => undefined);
    if (now === undefined) return; // database away: no sample rather than a wrong one
    result.observe(rowsGauge, now.rows);
    result.observe(ageGauge, now.oldestAgeMs / 1000);
  };
  m.addBatchObservableCallback(observeBacklog, [rowsGauge, ageGauge]);

  return {
    flush,
    wake() {
      if (stopped || failures > 0) return;
      if (ticking) wokenWhileTicking = true;
      else schedule(0);
    },
    backlog,
    async stop() {
      stopped = true;
      m.removeBatchObservableCallback(observeBacklog, [rowsGauge, ageGauge]);
      clearTimeout(timer);
      while (running !== undefined) await running.catch(() => 0);
      await flush().catch((error: unknown) => {
        options.log?.warn(
          { err: error },
          'outbox relay: last flush failed; rows stay for the next start',
        );
      });
    },
  };
}
