// GET /dlq and POST /dlq/redrive on the service as server.ts starts it, on
// the real Kafka and PostgreSQL of the test infra, in topics of its own.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvent, DLQ_HEADERS } from '@comms/contracts';
import { createKafka } from '@comms/kafka';
import type { KafkaProducer } from '@comms/kafka';
import { createTestDatabase, testInfra, uniqueName, waitFor } from '@comms/testing';
import type { TestDatabase } from '@comms/testing';
import { loadConfig } from './config.js';
import type { DlqListing } from './dlq.js';
import { startNotificationService } from './main.js';

const topics = { users: uniqueName('users'), orders: uniqueName('orders'), dlq: uniqueName('dlq') };
const group = uniqueName('notifications');
let db: TestDatabase;
let producer: KafkaProducer;
let service: Awaited<ReturnType<typeof startNotificationService>>;

beforeAll(async () => {
  db = await createTestDatabase('notification_dlq');
  const config = loadConfig({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: testInfra().kafkaBrokers,
    KAFKA_CLIENT: testInfra().kafkaClient,
    LOG_LEVEL: 'silent',
    USERS_TOPIC: topics.users,
    ORDERS_TOPIC: topics.orders,
    DLQ_TOPIC: topics.dlq,
    CONSUMER_GROUP: group,
    USER_SERVICE_HTTP_URL: 'http://127.0.0.1:9',
  });
  service = await startNotificationService({ ...config, PORT: 0 });
  await waitFor(async () => ((await service.ready()).status === 'ready' ? true : undefined), {
    timeoutMs: 60_000,
    message: 'notification-service did not become ready',
  });
  producer = await createKafka({
    brokers: testInfra().kafkaBrokers.split(','),
    clientId: 'dlq-test',
    client: testInfra().kafkaClient,
  }).producer();
}, 90_000);

afterAll(async () => {
  await producer.close();
  expect(await service.stop()).toBe(0);
  await db.drop();
});

const listing = async (query = '') => {
  const response = await service.app.inject({ method: 'GET', url: `/dlq${query}` });
  expect(response.statusCode).toBe(200);
  return response.json<DlqListing>();
};

/** Waits until the DLQ listing, read in full, satisfies `check`. */
const listingWhere = (what: string, check: (l: DlqListing) => boolean) =>
  waitFor(
    async () => {
      const l = await listing();
      return l.caughtUp && check(l) ? l : undefined;
    },
    { timeoutMs: 30_000, message: what },
  );

const redrive = async () => {
  const response = await service.app.inject({ method: 'POST', url: '/dlq/redrive' });
  expect(response.statusCode).toBe(200);
  return response.json<{ redriven: number; skipped: number; drained: boolean }>();
};

describe('the dead-letter topic over REST', () => {
  it('lists a message whose handling failed, with its reason, and a re-drive sends it back to be handled, leaving the DLQ empty', async () => {
    // A user event dead-lettered earlier, when its handling kept failing; the cause is fixed now.
    const userId = randomUUID();
    const event = createEvent('user.registered.v1', {
      source: '/user-service',
      subject: userId,
      data: {
        userId,
        name: 'Grace Hopper',
        email: `${uniqueName('grace')}@example.com`,
        registeredAt: new Date().toISOString(),
      },
    });
    await producer.send(topics.dlq, [
      {
        key: userId,
        value: JSON.stringify(event),
        headers: {
          [DLQ_HEADERS.reason]: 'failed',
          [DLQ_HEADERS.error]: 'failed 5 times: database says no',
          [DLQ_HEADERS.topic]: topics.users,
          [DLQ_HEADERS.partition]: '1',
          [DLQ_HEADERS.offset]: '41',
          [DLQ_HEADERS.group]: group,
          [DLQ_HEADERS.at]: new Date().toISOString(),
        },
      },
    ]);
    const before = await listingWhere('the dead letter listed', (l) => l.total === 1);
    expect(before.messages).toHaveLength(1);
    expect(before.messages[0]).toMatchObject({
      key: userId,
      reason: 'failed',
      error: 'failed 5 times: database says no',
      sourceTopic: topics.users,
      sourcePartition: 1,
      sourceOffset: 41,
      eventType: 'user.registered.v1',
      eventId: event.id,
      redriven: 0,
    });

    expect(await redrive()).toEqual({ redriven: 1, skipped: 0, drained: true });
    // Handled this time: its notification is stored.
    await waitFor(
      async () => {
        const { rows } = await service.pool.query(
          'SELECT 1 FROM notifications WHERE event_id = $1',
          [event.id],
        );
        return rows.length > 0 ? true : undefined;
      },
      { timeoutMs: 30_000, message: 'the re-driven event was not notified' },
    );
    const after = await listing();
    expect(after.total).toBe(0);
    expect(after.messages).toEqual([]);
  }, 90_000);

  it('lists an unreadable message as invalid, and one that fails again comes back counted', async () => {
    await producer.send(topics.orders, [{ key: 'junk', value: 'this is not json' }]);
    const first = await listingWhere('the invalid message listed', (l) => l.total === 1);
    const junk = first.messages[0];
    expect(junk).toMatchObject({
      key: 'junk',
      reason: 'invalid',
      sourceTopic: topics.orders,
      eventType: null,
      preview: 'this is not json',
      redriven: 0,
    });
    expect(junk?.error).toMatch(/not-json/);

    expect(await redrive()).toMatchObject({ redriven: 1, drained: true });
    // Still not an event: dead-lettered again, as re-driven once, at a later offset.
    const again = await listingWhere(
      'the message back in the DLQ',
      (l) => l.total === 1 && l.messages[0]?.redriven === 1,
    );
    expect(again.messages[0]?.offset).toBeGreaterThan(junk?.offset ?? Infinity);
    expect(again.messages[0]?.reason).toBe('invalid');
  }, 90_000);

  it('refuses a limit outside 1 to 200 with a problem document', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/dlq?limit=0' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
  });
});
