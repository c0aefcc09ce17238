import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pollUntil } from '@comms/resilience';
import { TOPICS } from '@comms/contracts';
import { createKafka } from '@comms/kafka';
import type { KafkaConsumer } from '@comms/kafka';
import type { ServiceName } from '@comms/endpoints';
import type { RunningSystem } from '@comms/local-system';
import { bearer } from '@comms/auth';

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
  /**
   * The HTTP status, or what went wrong below HTTP; `no-token` when the
   * client could not get the user's access token, so sent nothing.
   */
  readonly outcome: number | 'refused' | 'reset' | 'timeout' | 'error' | 'no-token';
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
 * Sends POST /orders at a steady rate (round robin over `userIds`, and over
 * the order-service instances when `url` lists several), each with its own
 * Idempotency-Key, and records every answer. A client that does not retry:
 * what it counts is exactly what the service answered.
 */
export function startOrderLoad(options: {
  url: string | readonly string[];
  userIds: readonly string[];
  perSecond: number;
  timeoutMs?: number;
  /**
   * The user's access token for order-service, as a client holds it (a
   * sign-in, cached while fresh: {@link userTokens}); none when identity is off.
   */
  token?: (userId: string) => Promise<string>;
}): OrderLoad {
  const attempts: Attempt[] = [];
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let sent = 0;
  const urls = typeof options.url === 'string' ? [options.url] : options.url;
  const send = () => {
    const userId = options.userIds[sent % options.userIds.length] ?? '';
    const url = urls[sent % urls.length] ?? '';
    sent += 1;
    const at = performance.now() - started;
    const key = randomUUID();
    const once = async (sends: number): Promise<Attempt> => {
      let attempt: Attempt;
      let authorization: { authorization?: string } = {};
      try {
        if (options.token !== undefined) authorization = bearer(await options.token(userId));
      } catch (error) {
        return {
          at,
          ms: performance.now() - started - at,
          outcome: 'no-token',
          userId,
          sends,
          detail: (error as Error).message,
        };
      }
      try {
        const response = await fetch(`${url}/orders`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': key,
            ...authorization,
          },
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

/**
 * How the suites' clients get end users' tokens for order-service: a
 * sign-in with PKCE at the local issuer, cached while fresh
 * (RunningSystem.tokens); undefined when the system runs without identity.
 */
export const userTokens = (system: RunningSystem) =>
  system.auth ? (userId: string) => system.tokens.user(userId) : undefined;

/**
 * The `Authorization` header of a call to `api` as `userId`, or none when
 * identity is off: what every request of the suites carries.
 */
export async function asUser(
  system: RunningSystem,
  userId: string,
  api: 'order-service' | 'notification-service' = 'order-service',
): Promise<{ authorization?: string }> {
  return system.auth ? bearer(await system.tokens.user(userId, api)) : {};
}

/**
 * The back office's own header for user-service (client credentials of the
 * `tools` client, which may register users), or none when identity is off.
 */
export async function asTools(system: RunningSystem): Promise<{ authorization?: string }> {
  return system.auth ? bearer(await system.tokens.service('tools', 'user-service')) : {};
}

/**
 * Registers `count` users through user-service's REST API, as the back
 * office does (its client-credentials token when identity is on);
 * resolves with their ids.
 */
export async function registerUsers(
  system: RunningSystem,
  label: string,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${system.services['user-service'].http}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await asTools(system)) },
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

/** An independent consumer of the orders topic and the DLQ: see {@link tapTopics}. */
export interface TopicTap {
  /** Times each event id arrived on the orders topic. */
  readonly published: ReadonlyMap<string, number>;
  /** Where each event id was last seen on the orders topic. */
  readonly positions: ReadonlyMap<string, { partition: number; offset: number }>;
  /** The messages on the dead-letter topic: key, source topic and why. */
  readonly deadLettered: readonly { key: string; topic: string; reason: string; error: string }[];
  close(): Promise<void>;
}

/** Counts every message on the orders topic and the DLQ by event id, from the start. */
export async function tapTopics(brokers: string): Promise<TopicTap> {
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

/** One event notification-service logged as handled, and which instance (from 1) handled it. */
export interface HandledEvent {
  readonly eventId: string;
  readonly outcome: string;
  readonly instance: number;
}

/** The event a notification-service 'event handled' log line names, or undefined for other lines. */
export function handledEvent(line: string, instance: number): HandledEvent | undefined {
  if (!line.includes('event handled')) return undefined;
  try {
    const entry = JSON.parse(line) as { eventId?: string; outcome?: string };
    if (entry.eventId !== undefined && entry.outcome !== undefined)
      return { eventId: entry.eventId, outcome: entry.outcome, instance };
  } catch {
    // Not a JSON log line.
  }
  return undefined;
}

/** The orders of `attempts` that were accepted (201), sent at or after `after` ms. */
export const accepted = (attempts: readonly Attempt[], after = 0) =>
  attempts.filter((a) => a.outcome === 201 && a.at >= after);

/** Resolves once `load` has `count` accepted orders sent at or after `after` ms. */
export const acceptedAtLeast = (load: OrderLoad, count: number, after: number, what: string) =>
  until(
    () => Promise.resolve(accepted(load.attempts, after).length >= count ? true : undefined),
    90_000,
    () => `${what}: fewer than ${String(count)} orders accepted`,
  );

/** New users, replicated to notification-service before the load starts. */
export async function usersFor(system: RunningSystem, label: string): Promise<string[]> {
  const users = await registerUsers(system, label, 4);
  await until(
    async () => {
      const rows = await query<{ n: string }>(
        system.databases['notification-service'] ?? '',
        'SELECT count(*)::text AS n FROM user_contacts WHERE user_id = ANY($1::uuid[])',
        [users],
      );
      return Number(rows[0]?.n) === users.length ? true : undefined;
    },
    60_000,
    () => 'notification-service did not learn the new users from the users topic',
  );
  return users;
}

/**
 * How a scenario is judged once its load has stopped: whether every
 * accepted order is stored, confirmed exactly once and published once.
 * One definition for every suite that counts "nothing lost or doubled".
 */
export function createCounting(context: {
  readonly system: RunningSystem;
  readonly tap: TopicTap;
  /** notification-service's handled events so far, appended to as they come. */
  readonly handled: readonly HandledEvent[];
}) {
  const { system, tap, handled } = context;

  /** For events without a confirmation: published? handled? parked? Empty when there are none. */
  const whereStuck = async (eventIds: readonly string[]): Promise<string> => {
    if (eventIds.length === 0) return '';
    const database = system.databases['notification-service'] ?? '';
    const count = async (table: string) =>
      (
        await query<{ n: string }>(
          database,
          `SELECT count(*)::text AS n FROM ${table} WHERE event_id = ANY($1::uuid[])`,
          [eventIds],
        ).catch(() => [{ n: '?' }])
      )[0]?.n ?? '?';
    const published = eventIds.filter((id) => tap.published.has(id)).length;
    return `; of ${String(eventIds.length)} unconfirmed: published ${String(published)}, processed ${await count('processed_events')}, pending ${await count('pending_events')}`;
  };

  /** Waits until every accepted order has its confirmation; resolves with the final counts. */
  const settle = async (users: readonly string[], attempts: readonly Attempt[]) => {
    const ids = accepted(attempts).map((a) => a.orderId ?? '');
    const started = Date.now();
    const stored = await createdOrders(system, users);
    const eventIds = ids.map((id) => stored.get(id)).filter((id): id is string => id !== undefined);
    await until(
      async () => {
        const confirmed = await confirmations(system, users);
        return eventIds.every((id) => confirmed.has(id)) ? true : undefined;
      },
      120_000,
      () => 'not every accepted order got its confirmation',
    ).catch(() => undefined);
    const drainMs = Date.now() - started;
    // Give the tap the same chance to see every publish before counting duplicates.
    await until(
      () => Promise.resolve(eventIds.every((id) => tap.published.has(id)) ? true : undefined),
      30_000,
      () => 'the tap did not see every event',
    ).catch(() => undefined);
    const confirmed = await confirmations(system, users);
    const storedNow = await createdOrders(system, users);
    const acceptedIds = new Set(ids);
    const scenarioEvents = new Set(storedNow.values());
    return {
      accepted: ids.length,
      /** Accepted orders whose order.created event is not in the event store. */
      lostOrders: ids.filter((id) => !storedNow.has(id)).length,
      /** Orders in the store that no client was told were accepted. */
      unacknowledged: [...storedNow.keys()].filter((id) => !acceptedIds.has(id)).length,
      /** Accepted orders without exactly one confirmation. */
      notExactlyOnce:
        eventIds.filter((id) => confirmed.get(id) !== 1).length + (ids.length - eventIds.length),
      confirmations: [...confirmed.entries()].filter(([id]) => scenarioEvents.has(id)).length,
      /** Extra copies of the scenario's events on the orders topic. */
      duplicatePublishes: [...scenarioEvents].reduce(
        (sum, id) => sum + Math.max(0, (tap.published.get(id) ?? 0) - 1),
        0,
      ),
      /** The scenario's stored events never seen on the orders topic. */
      unpublished: [...scenarioEvents].filter((id) => !tap.published.has(id)).length,
      deadLettered: tap.deadLettered.filter(({ key }) => storedNow.has(key)).length,
      /** Redeliveries notification-service recognised as already handled. */
      redelivered: handled.filter((h) => h.outcome === 'duplicate' && scenarioEvents.has(h.eventId))
        .length,
      /** The scenario's events handled (stored) by each notification-service instance. */
      handledBy: handled
        .filter((h) => h.outcome !== 'duplicate' && scenarioEvents.has(h.eventId))
        .reduce<Record<number, number>>(
          (by, h) => ({ ...by, [h.instance]: (by[h.instance] ?? 0) + 1 }),
          {},
        ),
      drainMs,
      /** Where the unconfirmed orders' events got to, for a failure message. */
      stuck: await whereStuck(eventIds.filter((id) => confirmed.get(id) !== 1)),
    };
  };

  return { settle, whereStuck };
}
