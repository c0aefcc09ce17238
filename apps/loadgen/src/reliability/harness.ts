import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pollUntil } from '@comms/resilience';
import { TOPICS } from '@comms/contracts';
import { createKafka } from '@comms/kafka';
import type { KafkaConsumer } from '@comms/kafka';
import type { ServiceName } from '@comms/endpoints';
import type { RunningSystem } from '@comms/local-system';

/**
 * Tools for the fault-injection suite: a steady order load that records
 * every answer, a tap on the topics, readiness sampling, and the counts a
 * scenario is judged by. Everything here talks to the real processes.
 */

/** How one POST /orders ended, as the client saw it. */
export interface Attempt {
  /** Milliseconds since the load started. */
  readonly at: number;
  readonly ms: number;
  /** The HTTP status, or what went wrong below HTTP. */
  readonly outcome: number | 'refused' | 'reset' | 'timeout' | 'error';
  readonly orderId?: string;
  /** The problem document's code and detail, for errors. */
  readonly code?: string;
  readonly detail?: string;
  readonly userId: string;
  /**
   * Sends of this request with its Idempotency-Key. A connection reset
   * leaves the outcome unknown, so the client sends again with the same key,
   * as a real client should; the service answers it once.
   */
  readonly sends: number;
}

/** A running order load; `stop` waits for the requests in flight. */
export interface OrderLoad {
  readonly attempts: readonly Attempt[];
  /** Milliseconds since the load started: the clock of {@link Attempt.at}. */
  elapsed(): number;
  /** Sends `count` more requests at once, recorded like the others. */
  burst(count: number): void;
  stop(): Promise<Attempt[]>;
}

function networkOutcome(error: unknown): Attempt['outcome'] {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'timeout';
  const code = (error as { cause?: { code?: string } }).cause?.code ?? '';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'reset';
  return 'error';
}

/**
 * Sends POST /orders at a steady rate (round robin over `userIds`), each
 * with its own Idempotency-Key, and records every answer. A client that
 * does not retry: what it counts is exactly what the service answered.
 */
export function startOrderLoad(options: {
  url: string;
  userIds: readonly string[];
  perSecond: number;
  timeoutMs?: number;
}): OrderLoad {
  const attempts: Attempt[] = [];
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let sent = 0;
  const send = () => {
    const userId = options.userIds[sent % options.userIds.length] ?? '';
    sent += 1;
    const at = performance.now() - started;
    const key = randomUUID();
    const once = async (sends: number): Promise<Attempt> => {
      let attempt: Attempt;
      try {
        const response = await fetch(`${options.url}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({
            userId,
            items: [{ productId: 'fault-kit', quantity: 1, price: '9.99' }],
          }),
          signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
        });
        const body = (await response.json().catch(() => ({}))) as {
          orderId?: string;
          code?: string;
          detail?: string;
        };
        attempt = {
          at,
          ms: performance.now() - started - at,
          outcome: response.status,
          userId,
          sends,
          ...(body.orderId === undefined ? {} : { orderId: body.orderId }),
          ...(body.code === undefined ? {} : { code: body.code }),
          ...(body.detail === undefined ? {} : { detail: body.detail }),
        };
      } catch (error) {
        attempt = {
          at,
          ms: performance.now() - started - at,
          outcome: networkOutcome(error),
          userId,
          sends,
        };
      }
      return attempt;
    };
    const request = (async () => {
      let attempt = await once(1);
      while (attempt.outcome === 'reset' && attempt.sends < 3)
        attempt = await once(attempt.sends + 1);
      attempts.push(attempt);
    })();
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };
  const timer = setInterval(send, 1000 / options.perSecond);
  return {
    attempts,
    elapsed: () => performance.now() - started,
    burst(count) {
      for (let i = 0; i < count; i++) send();
    },
    async stop() {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      return [...attempts].sort((a, b) => a.at - b.at);
    },
  };
}

/** Registers `count` users through user-service's REST API; resolves with their ids. */
export async function registerUsers(
  system: RunningSystem,
  label: string,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${system.services['user-service'].http}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: `Fault ${label} ${String(i)}`,
        email: `${label}.${String(i)}.${randomUUID().slice(0, 8)}@example.com`,
      }),
    });
    if (response.status !== 201)
      throw new Error(
        `registering a user failed: ${String(response.status)} ${await response.text()}`,
      );
    ids.push(((await response.json()) as { id: string }).id);
  }
  return ids;
}

/** Samples every service's /readyz until stopped; remembers which were seen not ready. */
export function sampleReadiness(system: RunningSystem, names: readonly ServiceName[]) {
  const notReady = new Set<ServiceName>();
  const stopped = new AbortController();
  // A poll with no condition but being stopped: it ends after the sample in flight.
  const loop = pollUntil(
    async () => {
      await Promise.all(
        names.map(async (name) => {
          const response = await fetch(`${system.services[name].http}/readyz`, {
            signal: AbortSignal.timeout(2_000),
          }).catch(() => undefined);
          // Not answering at all is not "reporting not-ready": only a 503 counts.
          if (response?.status === 503) notReady.add(name);
        }),
      );
      return undefined;
    },
    { timeoutMs: Number.POSITIVE_INFINITY, intervalMs: 200, signal: stopped.signal },
  ).catch(() => undefined);
  return {
    async stop(): Promise<ReadonlySet<ServiceName>> {
      stopped.abort();
      await loop;
      return notReady;
    },
  };
}

/** Counts every message on the orders topic and the DLQ by event id, from the start. */
export async function tapTopics(brokers: string): Promise<{
  /** Times each event id arrived on the orders topic. */
  readonly published: ReadonlyMap<string, number>;
  /** Where each event id was last seen on the orders topic. */
  readonly positions: ReadonlyMap<string, { partition: number; offset: number }>;
  /** The messages on the dead-letter topic: key, source topic and why. */
  readonly deadLettered: readonly { key: string; topic: string; reason: string; error: string }[];
  close(): Promise<void>;
}> {
  const kafka = createKafka({ brokers: brokers.split(','), clientId: 'reliability-tap' });
  const published = new Map<string, number>();
  const positions = new Map<string, { partition: number; offset: number }>();
  const deadLettered: { key: string; topic: string; reason: string; error: string }[] = [];
  const consumer: KafkaConsumer = await kafka.consumer({
    groupId: `reliability-tap-${randomUUID()}`,
    topics: [TOPICS.orders, TOPICS.notificationsDlq],
    fromBeginning: true,
  });
  await consumer.run((message) => {
    if (message.topic === TOPICS.notificationsDlq) {
      deadLettered.push({
        key: message.key ?? '',
        topic: message.headers['dlq-source-topic'] ?? '',
        reason: message.headers['dlq-reason'] ?? '',
        error: message.headers['dlq-error'] ?? '',
      });
      return Promise.resolve();
    }
    try {
      const { id } = JSON.parse(message.value?.toString('utf8') ?? '{}') as { id?: string };
      if (typeof id === 'string') {
        published.set(id, (published.get(id) ?? 0) + 1);
        positions.set(id, { partition: message.partition, offset: Number(message.offset) });
      }
    } catch {
      // Not an event of ours: the tap only counts.
    }
    return Promise.resolve();
  });
  return { published, positions, deadLettered, close: () => consumer.close() };
}

/** Reads one service's database with its own role. */
export async function query<T extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The order.created events stored for these users: order id to event id. */
export async function createdOrders(
  system: RunningSystem,
  userIds: readonly string[],
): Promise<Map<string, string>> {
  const rows = await query<{ order_id: string; event_id: string }>(
    system.databases['order-service'] ?? '',
    `SELECT stream_id::text AS order_id, event_id::text FROM events
      WHERE type = 'order.created.v1' AND data->>'userId' = ANY($1::text[])`,
    [userIds],
  );
  return new Map(rows.map((row) => [row.order_id, row.event_id]));
}

/** Order-confirmation notifications stored for these users, per event id. */
export async function confirmations(
  system: RunningSystem,
  userIds: readonly string[],
): Promise<Map<string, number>> {
  const rows = await query<{ event_id: string; n: string }>(
    system.databases['notification-service'] ?? '',
    `SELECT event_id::text, count(*)::text AS n FROM notifications
      WHERE event_type = 'order.created.v1' AND user_id = ANY($1::uuid[])
      GROUP BY event_id`,
    [userIds],
  );
  return new Map(rows.map((row) => [row.event_id, Number(row.n)]));
}

/**
 * Polls until `check` returns a value (an error it throws means "not yet"),
 * or throws `message` after `timeoutMs`: @comms/resilience's pollUntil with
 * a message computed at the deadline, so it can report the counts by then.
 */
export async function until<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  message: () => string,
  intervalMs = 250,
): Promise<T> {
  return pollUntil(check, {
    timeoutMs,
    intervalMs,
    onTimeout: () => new Error(`${message()} (after ${String(timeoutMs)} ms)`),
  });
}

/** Summary figures of a list of latencies in milliseconds. */
export function latency(values: readonly number[]): { p50: number; max: number } {
  if (values.length === 0) return { p50: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
    max: Math.round(sorted.at(-1) ?? 0),
  };
}

/** Counts requests per final outcome, as `201×40, 503×7 (2 sent again after a reset)`. */
export function tally(attempts: readonly Attempt[]): string {
  const counts = new Map<string, number>();
  for (const a of attempts) counts.set(String(a.outcome), (counts.get(String(a.outcome)) ?? 0) + 1);
  const again = attempts.filter((a) => a.sends > 1).length;
  return (
    [...counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([outcome, n]) => `${outcome}×${String(n)}`)
      .join(', ') + (again === 0 ? '' : ` (${String(again)} sent again after a reset)`)
  );
}
