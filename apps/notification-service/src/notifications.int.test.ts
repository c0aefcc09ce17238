import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '@comms/contracts';
import { findFreePort } from '@comms/infra';
import type { IncomingMessage, KafkaClient, KafkaConsumer, KafkaProducer } from '@comms/kafka';
import { createPool, migrate } from '@comms/postgres';
import type { Pool } from '@comms/postgres';
import { createLogger } from '@comms/service-kit';
import {
  createTestDatabase,
  startUserServiceProcess,
  testInfra,
  uniqueName,
  waitFor,
} from '@comms/testing';
import type { TestDatabase, TestUserService } from '@comms/testing';
import { loadConfig } from './config.js';
import { DLQ_HEADERS, startConsumer } from './consumer.js';
import type { startNotificationService } from './main.js';
import { MIGRATIONS } from './migrations.js';
import { createProcessor, FEED_CHANNEL } from './processor.js';
import type { Outcome, Processor } from './processor.js';
import { createRecipients, upsertContact } from './recipients.js';
import {
  connectToTopics,
  orderCreated,
  startTestNotificationService,
  userRegistered,
} from './test-support.js';

const USER_SERVICE = createRequire(import.meta.url).resolve('@comms/user-service');
const logger = createLogger('notification-test', 'silent');

let db: TestDatabase;
let pool: Pool;
let kafka: KafkaClient;
let producer: KafkaProducer;
let userService: TestUserService;
let userHttp: string;
let processor: Processor;
const topics = { users: uniqueName('users'), orders: uniqueName('orders'), dlq: uniqueName('dlq') };
const group = uniqueName('notifications');
const consumers: KafkaConsumer[] = [];

async function consume(
  options: { processor?: Processor; maxAttempts?: number; retryBaseMs?: number } = {},
): Promise<KafkaConsumer> {
  const consumer = await startConsumer({
    kafka,
    producer,
    processor: options.processor ?? processor,
    logger,
    config: {
      group,
      topics: [topics.users, topics.orders],
      dlqTopic: topics.dlq,
      maxAttempts: options.maxAttempts ?? 3,
      retryBaseMs: options.retryBaseMs ?? 20,
      sessionTimeoutMs: 6_000,
    },
  });
  consumers.push(consumer);
  await waitFor(() => (consumer.joined() ? true : undefined), {
    timeoutMs: 30_000,
    message: 'consumer did not join',
  });
  return consumer;
}

beforeAll(async () => {
  db = await createTestDatabase('notifications');
  pool = createPool({ url: db.url, max: 15 });
  await migrate(pool, MIGRATIONS);
  ({ kafka, producer } = await connectToTopics(topics, { clientId: 'notification-test' }));

  userService = await startUserServiceProcess({
    entry: USER_SERVICE,
    database: 'notification_users',
  });
  userHttp = userService.httpUrl;
  const recipients = createRecipients({ pool, userServiceUrl: userHttp, timeoutMs: 500 });
  processor = createProcessor({ pool, recipients });
}, 90_000);

afterAll(async () => {
  for (const consumer of consumers) await consumer.close().catch(() => undefined);
  await producer.close();
  await userService.stop();
  await pool.end();
  await db.drop();
});

async function publish(
  topic: string,
  event:
    | AnyEvent
    | { key: string | null; value: string | Buffer | null; headers?: Record<string, string> },
) {
  const message =
    'specversion' in event
      ? {
          key: event.subject,
          value: JSON.stringify(event),
          headers: { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` },
        }
      : event;
  await producer.send(topic, [message]);
}

async function notificationsFor(eventId: string) {
  return (
    await pool.query<{ kind: string; recipient_email: string }>(
      'SELECT kind, recipient_email FROM notifications WHERE event_id = $1',
      [eventId],
    )
  ).rows;
}

async function waitForNotification(eventId: string) {
  return waitFor(
    async () => {
      const rows = await notificationsFor(eventId);
      return rows.length > 0 ? rows : undefined;
    },
    { timeoutMs: 30_000, message: `no notification for event ${eventId}` },
  );
}

async function readDlq(count: number): Promise<IncomingMessage[]> {
  const received: IncomingMessage[] = [];
  const reader = await kafka.consumer({ groupId: uniqueName('dlq-reader'), topics: [topics.dlq] });
  await reader.run((m) => {
    received.push(m);
    return Promise.resolve();
  });
  try {
    await waitFor(() => (received.length >= count ? true : undefined), {
      timeoutMs: 30_000,
      message: 'DLQ messages missing',
    });
  } finally {
    await reader.close();
  }
  return received;
}

describe('notification-service consumer', () => {
  // The service as server.ts starts it, reading the test's topics in the test's group.
  let service: Awaited<ReturnType<typeof startNotificationService>>;
  beforeAll(async () => {
    service = await startTestNotificationService(db.url, topics, {
      CONSUMER_GROUP: group,
      MAX_ATTEMPTS: '3',
      RETRY_BASE_MS: '20',
      USER_SERVICE_HTTP_URL: userHttp,
      USER_CALL_TIMEOUT_MS: '500',
    });
  }, 60_000);

  // It leaves the group before the failure tests bring consumers of their own.
  afterAll(async () => {
    expect(await service.stop()).toBe(0);
  });

  it('gives one notification for an event delivered twice', async () => {
    const userId = randomUUID();
    const event = userRegistered(userId);
    await publish(topics.users, event);
    await publish(topics.users, event);
    // Same user, so same key and partition: once the sentinel is handled, both
    // copies before it have been too. Another key could land on a partition
    // that is read first.
    const sentinel = userRegistered(userId);
    await publish(topics.users, sentinel);
    await waitForNotification(sentinel.id);
    expect(await notificationsFor(event.id)).toEqual([
      { kind: 'welcome', recipient_email: event.data.email },
    ]);
  });

  it('dead-letters poison messages with the reason and their origin, and moves on', async () => {
    await publish(topics.orders, {
      key: 'junk',
      value: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
      headers: { 'x-origin': 'fuzzer' },
    });
    await publish(topics.orders, {
      key: 'future',
      value: JSON.stringify({ ...userRegistered(), type: 'user.registered.v7' }),
    });
    const good = userRegistered();
    await publish(topics.users, good);
    await waitForNotification(good.id);

    const dead = await readDlq(2);
    const junk = dead.find((m) => m.key === 'junk');
    expect(junk?.value).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(junk?.headers).toMatchObject({
      'x-origin': 'fuzzer',
      [DLQ_HEADERS.reason]: 'invalid',
      [DLQ_HEADERS.topic]: topics.orders,
      [DLQ_HEADERS.group]: group,
    });
    expect(junk?.headers[DLQ_HEADERS.error]).toMatch(/not-json/);
    expect(junk?.headers[DLQ_HEADERS.offset]).toMatch(/^\d+$/);
    expect(dead.find((m) => m.key === 'future')?.headers[DLQ_HEADERS.error]).toMatch(
      /unknown event type 'user.registered.v7'/,
    );
  });

  it('finds the recipient of an order that arrives before its user event, through user-service', async () => {
    const user = await userService.register('Early Bird', { email: 'early.bird@example.com' });
    const order = orderCreated(user.id);
    await publish(topics.orders, order);
    expect(await waitForNotification(order.id)).toEqual([
      { kind: 'order-confirmation', recipient_email: 'early.bird@example.com' },
    ]);
  });

  it('asks the user-service instances in turn, so a lookup that failed on one is answered by the next', async () => {
    const user = await userService.register('Two Ways');
    // The first instance listed is gone (nothing listens on its port).
    const gone = `http://127.0.0.1:${String(await findFreePort())}`;
    const recipients = createRecipients({
      pool,
      userServiceUrl: loadConfig({
        DATABASE_URL: db.url,
        KAFKA_BROKERS: testInfra().kafkaBrokers,
        USER_SERVICE_HTTP_URL: `${gone},${userHttp}`,
      }).userServiceHttp,
      timeoutMs: 2_000,
    });
    await expect(recipients.find(user.id)).rejects.toThrow(/user-service did not answer/);
    await expect(recipients.find(user.id)).resolves.toMatchObject({ name: 'Two Ways' });
  });

  it('keeps an order whose user nobody knows yet, and notifies once the user event arrives', async () => {
    const user = userRegistered(randomUUID(), { name: 'Late Larry' });
    const order = orderCreated(user.data.userId);
    await publish(topics.orders, order);
    await waitFor(
      async () => {
        const pending = await pool.query('SELECT 1 FROM pending_events WHERE event_id = $1', [
          order.id,
        ]);
        return (pending.rowCount ?? 0) > 0 ? true : undefined;
      },
      { timeoutMs: 20_000, message: 'order event was not parked' },
    );
    expect(await notificationsFor(order.id)).toEqual([]);

    await publish(topics.users, user);
    expect(await waitForNotification(order.id)).toEqual([
      { kind: 'order-confirmation', recipient_email: user.data.email },
    ]);
    const pending = await pool.query('SELECT 1 FROM pending_events WHERE event_id = $1', [
      order.id,
    ]);
    expect(pending.rowCount).toBe(0);
  });

  it('pushes a notification made from a Kafka event to a Server-Sent Events client', async () => {
    const port = service.http.port;
    const user = userRegistered(randomUUID(), { name: 'Streaming Sam' });
    const controller = new AbortController();
    try {
      const response = await fetch(
        `http://127.0.0.1:${port}/notifications/stream?userId=${user.data.userId}`,
        { signal: controller.signal },
      );
      expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = '';
      await reader.read(); // ": connected"
      await publish(topics.users, user);
      const received = await waitFor(
        async () => {
          const chunk = await reader.read();
          text += decoder.decode(chunk.value ?? new Uint8Array());
          return text.includes('event: notification') &&
            text.includes('\n\n', text.indexOf('event: notification'))
            ? text
            : undefined;
        },
        { timeoutMs: 30_000, message: 'no SSE event' },
      );
      const data =
        /data: (.+)\n/.exec(received.slice(received.indexOf('event: notification')))?.[1] ?? '{}';
      expect(JSON.parse(data)).toMatchObject({
        userId: user.data.userId,
        kind: 'welcome',
        subject: 'Welcome, Streaming Sam!',
      });

      const listed = await fetch(
        `http://127.0.0.1:${port}/notifications?userId=${user.data.userId}`,
      );
      expect(((await listed.json()) as { items: unknown[] }).items).toHaveLength(1);
      const lag = (await (await fetch(`http://127.0.0.1:${port}/consumer/lag`)).json()) as {
        joined: boolean;
        partitions: unknown[];
      };
      expect(lag.joined).toBe(true);
      expect(lag.partitions.length).toBeGreaterThanOrEqual(6);
    } finally {
      controller.abort();
    }
  });
});

describe('failure handling', () => {
  it('stores once when the consumer dies after storing and before committing', async () => {
    // The first time this event is stored, fail as a crash would: after the
    // database commit, before Kafka's offset commit. The handler then waits
    // to retry; the consumer is closed meanwhile, so the offset is never
    // committed and Kafka delivers the message again, to the next consumer.
    const userId = randomUUID();
    const event = userRegistered(userId);
    let crashed = false;
    const crashing = createProcessor({
      pool,
      recipients: createRecipients({ pool, userServiceUrl: userHttp, timeoutMs: 500 }),
      afterCommit: (handled) => {
        if (handled.id === event.id && !crashed) {
          crashed = true;
          throw new Error('simulated crash after the transaction committed');
        }
      },
    });
    for (const consumer of consumers.splice(0)) await consumer.close();
    const dying = await consume({ processor: crashing, retryBaseMs: 60_000 });
    await publish(topics.users, event);
    await waitForNotification(event.id);
    await waitFor(() => (crashed ? true : undefined), { message: 'the crash was not simulated' });
    await dying.close();

    // What the next consumer makes of each copy of the event it is handed.
    const outcomes: Outcome[] = [];
    const recording: Processor = {
      ...processor,
      handle: async (handled) => {
        const outcome = await processor.handle(handled);
        if (handled.id === event.id) outcomes.push(outcome);
        return outcome;
      },
    };
    await consume({ processor: recording });
    // Same key and partition, so the redelivered copy is handled before it.
    const sentinel = userRegistered(userId);
    await publish(topics.users, sentinel);
    await waitForNotification(sentinel.id);
    // Redelivered, recognised as handled already, and not notified again.
    expect(outcomes).toEqual(['duplicate']);
    expect(await notificationsFor(event.id)).toHaveLength(1);
    for (const consumer of consumers.splice(0)) await consumer.close();
  }, 90_000);

  it('dead-letters a message whose handler keeps failing, then continues', async () => {
    const doomed = userRegistered();
    const failing: Processor = {
      ...processor,
      handle: (event) =>
        event.id === doomed.id
          ? Promise.reject(new Error('database says no'))
          : processor.handle(event),
    };
    await consume({ processor: failing, maxAttempts: 3 });
    await publish(topics.users, doomed);
    const next = userRegistered();
    await publish(topics.users, next);
    await waitForNotification(next.id);
    const dead = await readDlq(3);
    const entry = dead.find((m) => m.key === doomed.subject);
    expect(entry?.headers).toMatchObject({
      [DLQ_HEADERS.reason]: 'failed',
      [DLQ_HEADERS.topic]: topics.users,
    });
    expect(entry?.headers[DLQ_HEADERS.error]).toMatch(/failed 3 times: database says no/);
    expect(await notificationsFor(doomed.id)).toEqual([]);
    for (const consumer of consumers.splice(0)) await consumer.close();
  }, 60_000);

  it('splits partitions between two instances and gives exactly one notification per event, also while one stops', async () => {
    const [one, two] = [await consume(), await consume()];
    await waitFor(
      () => {
        const a = Object.values(one.assignment()).flat().length;
        const b = Object.values(two.assignment()).flat().length;
        return a > 0 && b > 0 && a + b === 6 ? true : undefined;
      },
      { timeoutMs: 30_000, message: 'partitions were not split' },
    );
    const events = Array.from({ length: 60 }, () => userRegistered());
    for (const event of events.slice(0, 30)) await publish(topics.users, event);
    const stopping = one.close();
    for (const event of events.slice(30)) await publish(topics.users, event);
    await stopping;
    await waitFor(
      async () => {
        const count = await pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM notifications WHERE event_id = ANY($1::uuid[])',
          [events.map((e) => e.id)],
        );
        return count.rows[0]?.n === 60 ? true : undefined;
      },
      { timeoutMs: 60_000, message: 'not every event got its notification' },
    );
    const perEvent = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM notifications WHERE event_id = ANY($1::uuid[]) GROUP BY event_id HAVING count(*) > 1',
      [events.map((e) => e.id)],
    );
    expect(perEvent.rows).toEqual([]);
  }, 120_000);
});

describe('a fetched batch', () => {
  it('stores its order events together, once each, and leaves the rest to the one-by-one path', async () => {
    // Topics of its own with one partition, filled before the consumer
    // starts, so the consumer fetches everything at once.
    const own = {
      users: uniqueName('batch-users'),
      orders: uniqueName('batch-orders'),
      dlq: uniqueName('batch-dlq'),
    };
    const admin = await kafka.admin();
    await admin.ensureTopics(Object.values(own).map((topic) => ({ topic, partitions: 1 })));
    const known = { userId: randomUUID(), name: 'Grace Hopper', email: 'grace@example.com' };
    await upsertContact(pool, { ...known, status: 'active', asOf: new Date() });
    const orders = Array.from({ length: 12 }, () => orderCreated(known.userId));
    // The contract lets an id be any text; PostgreSQL compares uuids in any case.
    const shouting = orders[3] as (typeof orders)[number];
    orders[3] = { ...shouting, id: shouting.id.toUpperCase() };
    const first = orders[0] as AnyEvent;
    // Nobody knows this user: it is parked, as one event on its own would be.
    const stranger = orderCreated(randomUUID());
    const send = (event: AnyEvent) => ({
      key: event.subject ?? null,
      value: JSON.stringify(event),
    });
    await producer.send(own.orders, [
      ...orders.slice(0, 6).map(send),
      send(first), // delivered twice within the batch
      { key: 'poison', value: '{"not": "a cloudevent"' },
      send(stranger),
      send(stranger), // and its copy: the one-by-one path must take it once
      ...orders.slice(6).map(send),
    ]);

    // What the feed announces, heard as an SSE client's instance would.
    const listener = await pool.connect();
    const announced: Array<{ eventId: string; id: string; createdAt: string }> = [];
    listener.on('notification', (message) => {
      if (message.channel === FEED_CHANNEL && message.payload !== undefined)
        announced.push(JSON.parse(message.payload) as (typeof announced)[number]);
    });
    await listener.query(`LISTEN ${FEED_CHANNEL}`);

    // What each batch call made of its events (a call that threw falls back to one by one).
    const batches: Array<{
      size: number;
      left?: string[];
      duplicates?: number;
      failed?: string;
    }> = [];
    const strangerHandled: Outcome[] = [];
    const counting: Processor = {
      ...processor,
      handle: async (event) => {
        const outcome = await processor.handle(event);
        if (event.id === stranger.id) strangerHandled.push(outcome);
        return outcome;
      },
      handleOrderBatch: async (events) => {
        try {
          const result = await processor.handleOrderBatch(events);
          batches.push({
            size: events.length,
            left: result.left.map((event) => event.id),
            duplicates: result.outcomes.filter((outcome) => outcome === 'duplicate').length,
          });
          return result;
        } catch (error) {
          batches.push({ size: events.length, failed: String(error) });
          throw error;
        }
      },
    };
    const batchGroup = uniqueName('batch');
    const consumer = await startConsumer({
      kafka,
      producer,
      processor: counting,
      logger,
      config: {
        group: batchGroup,
        topics: [own.users, own.orders],
        dlqTopic: own.dlq,
        maxAttempts: 3,
        retryBaseMs: 20,
        sessionTimeoutMs: 6_000,
      },
    });
    try {
      const ids = orders.map((event) => event.id.toLowerCase());
      const stored = await waitFor(
        async () => {
          const rows = await pool.query<{ event_id: string; id: string; created_at: Date }>(
            'SELECT event_id::text, id::text, created_at FROM notifications WHERE event_id = ANY($1::uuid[])',
            [ids],
          );
          return rows.rows.length >= ids.length ? rows.rows : undefined;
        },
        { timeoutMs: 30_000, message: 'the batch was not stored' },
      );
      // One notification per event, the duplicate included.
      expect(stored.map((row) => row.event_id).sort()).toEqual([...ids].sort());
      // Stored together, without falling back: the one-by-one path took only the stranger.
      expect(batches.filter((batch) => batch.failed !== undefined)).toEqual([]);
      expect(batches.some((batch) => batch.size > 1)).toBe(true);
      expect(batches.flatMap((batch) => batch.left ?? [])).toEqual([stranger.id]);
      // The second copies of the first order and of the stranger's are the only duplicates.
      expect(batches.reduce((sum, batch) => sum + (batch.duplicates ?? 0), 0)).toBe(2);
      // The stranger's event waits in pending_events; the poison message is dead-lettered.
      await waitFor(
        async () =>
          (await pool.query('SELECT 1 FROM pending_events WHERE event_id = $1', [stranger.id])).rows
            .length === 1
            ? true
            : undefined,
        { timeoutMs: 30_000, message: 'the unknown user’s order was not parked' },
      );

      await waitFor(
        async () => ((await admin.topicOffsets(own.dlq))[0]?.high === 1 ? true : undefined),
        { timeoutMs: 30_000, message: 'the poison message was not dead-lettered' },
      );
      // Once the whole batch is committed, the stranger was handled once, not once per copy.
      await waitFor(
        async () => {
          const [end] = await admin.topicOffsets(own.orders);
          const committed = (await admin.committedOffsets(batchGroup, own.orders)).get(0);
          return end !== undefined && committed === end.high ? true : undefined;
        },
        { timeoutMs: 30_000, message: 'the batch was not committed' },
      );
      expect(strangerHandled).toEqual(['pending']);
      // Each stored notification was announced once, with the row's id and time.
      await waitFor(() => (announced.length >= ids.length ? true : undefined), {
        timeoutMs: 10_000,
        message: 'not every notification was announced',
      });
      expect(
        announced
          .filter((a) => ids.includes(a.eventId))
          .map((a) => [a.eventId, a.id, a.createdAt])
          .sort(),
      ).toEqual(stored.map((row) => [row.event_id, row.id, row.created_at.toISOString()]).sort());
    } finally {
      await consumer.close();
      listener.release();
      await admin.deleteTopics(Object.values(own)).catch(() => undefined);
      await admin.close();
    }
  }, 90_000);
});
