import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFieldPath } from '@comms/contracts';
import { EVENT_CATALOG, EventEnvelope } from '@comms/contracts/events';
import type { EventType } from '@comms/contracts/events';
import { findFreePort } from '@comms/infra';
import type { IncomingMessage, KafkaClient, KafkaProducer } from '@comms/kafka';
import type { Pool } from '@comms/postgres';
import { createLogger } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import {
  createTestDatabase,
  describeRestTextInputs,
  openApiDocument,
  stringFields,
  uniqueName,
  UNSTORABLE_TEXT,
  waitFor,
  withValueAt,
} from '@comms/testing';
import type { FieldPath, TestDatabase } from '@comms/testing';
import { buildApp } from './app.js';
import { DLQ_HEADERS } from './consumer.js';
import type { DlqView } from './dlq.js';
import type { Feed } from './feed.js';
import type { startNotificationService } from './main.js';
import { connectToTopics, startTestNotificationService } from './test-support.js';

/**
 * Every text field of every event type (the envelope and each type's data,
 * found from the schemas) refuses text PostgreSQL cannot store: published to
 * a real topic, the event reaches the dead-letter topic as `invalid`, named
 * by its field, on the first try. The processor is the real one, so without
 * the rule the event would be handled and its text would reach the database.
 * The REST inputs, found from the OpenAPI document, answer 400 naming the field.
 */

const logger = createLogger('notification-text-test', 'silent');
// The sample of each event type that the contracts package keeps, beside its dist/.
const FIXTURES = new URL(
  '../fixtures/events/',
  pathToFileURL(createRequire(import.meta.url).resolve('@comms/contracts')),
);
const topics = {
  users: uniqueName('text-users'),
  orders: uniqueName('text-orders'),
  dlq: uniqueName('text-dlq'),
};
const group = uniqueName('text-notifications');

let db: TestDatabase;
let service: Awaited<ReturnType<typeof startNotificationService>>;
let pool: Pool;
let kafka: KafkaClient;
let producer: KafkaProducer;
let app: HttpApp;

beforeAll(async () => {
  db = await createTestDatabase('notification_text');
  ({ kafka, producer } = await connectToTopics(topics, { clientId: 'text-test' }));
  service = await startTestNotificationService(db.url, topics, {
    CONSUMER_GROUP: group,
    MAX_ATTEMPTS: '3',
    RETRY_BASE_MS: '20',
    // Nobody answers there: these events never need a contact looked up.
    USER_SERVICE_HTTP_URL: `http://127.0.0.1:${await findFreePort()}`,
    USER_CALL_TIMEOUT_MS: '200',
  });
  ({ app, pool } = service);
}, 90_000);

afterAll(async () => {
  expect(await service.stop()).toBe(0);
  await producer.close();
  await db.drop();
});

interface Case {
  readonly key: string;
  readonly type: EventType;
  readonly path: FieldPath;
  readonly kind: string;
  readonly value: Buffer;
}

/** Every text field, for every event type: the envelope's and the type's own data. */
const fields = (Object.keys(EVENT_CATALOG) as EventType[]).flatMap((type) =>
  [
    ...stringFields(EventEnvelope).filter((path) => path[0] !== 'data'),
    ...stringFields(EVENT_CATALOG[type].data, ['data']),
  ].map((path) => ({ type, path })),
);

async function cases(): Promise<Case[]> {
  const all: Case[] = [];
  for (const { type, path } of fields) {
    const fixture = JSON.parse(await readFile(new URL(`${type}.json`, FIXTURES), 'utf8')) as Record<
      string,
      unknown
    >;
    for (const [kind, text] of Object.entries(UNSTORABLE_TEXT)) {
      // A fresh id each, so the consumer's deduplication never hides one.
      const event = withValueAt({ ...fixture, id: randomUUID() }, path, text);
      all.push({
        key: `text-${all.length}`,
        type,
        path,
        kind,
        value: Buffer.from(JSON.stringify(event)),
      });
    }
  }
  return all;
}

describe('events with text PostgreSQL cannot store', () => {
  it('covers the text fields of every event type', () => {
    const named = fields.map(({ type, path }) => `${type} ${formatFieldPath('', path)}`);
    expect(named).toEqual(
      expect.arrayContaining([
        'user.registered.v1 data.name',
        'order.created.v1 data.items[0].productId',
        'order.cancelled.v1 data.reason',
        'order.shipped.v1 subject',
      ]),
    );
    for (const type of Object.keys(EVENT_CATALOG))
      expect(named.filter((n) => n.startsWith(`${type} data.`)).length, type).toBeGreaterThan(0);
  });

  it('dead-letters each as invalid, naming the field, without a retry', async () => {
    const all = await cases();
    for (const c of all) {
      const topic = EVENT_CATALOG[c.type].topic === 'users' ? topics.users : topics.orders;
      await producer.send(topic, [{ key: c.key, value: c.value }]);
    }
    const received = new Map<string, IncomingMessage>();
    const reader = await kafka.consumer({ groupId: uniqueName('text-dlq'), topics: [topics.dlq] });
    await reader.run((message) => {
      if (message.key !== null) received.set(message.key, message);
      return Promise.resolve();
    });
    try {
      await waitFor(() => (received.size >= all.length ? true : undefined), {
        timeoutMs: 60_000,
        message: `not every one of the ${all.length} events was dead-lettered`,
      });
    } finally {
      await reader.close();
    }
    for (const c of all) {
      const headers = received.get(c.key)?.headers ?? {};
      const label = `${c.type} ${formatFieldPath('', c.path)} ${c.kind}`;
      expect(headers[DLQ_HEADERS.reason], label).toBe('invalid');
      const problem = c.path[0] === 'data' ? 'data' : 'envelope';
      expect(headers[DLQ_HEADERS.error], label).toMatch(
        new RegExp(
          `^${problem}: ${formatFieldPath('', c.path).replace(/[.[\]]/g, '\\$&')}: must not contain ${c.kind === 'NUL' ? 'NUL' : 'an unpaired surrogate'}`,
        ),
      );
    }
    // Nothing of them was stored.
    const stored = await pool.query('SELECT count(*)::int AS n FROM notifications');
    expect(stored.rows[0]).toEqual({ n: 0 });
  }, 120_000);
});

// The routes' own description, read before the tests are collected: the
// document needs the routes, not a database or a broker.
const openApi = await openApiDocument(() =>
  buildApp({
    pool: {} as Pool,
    feed: {} as Feed,
    consumer: () => undefined,
    group: 'doc',
    dlq: { view: {} as DlqView, redrive: () => Promise.reject(new Error('not in this test')) },
    logger,
    readiness: {},
  }),
);

const restUserId = randomUUID();
describeRestTextInputs({
  openApi,
  baselines: () => ({
    'GET /notifications': { querystring: { userId: restUserId } },
    'GET /notifications/stream': { querystring: { userId: restUserId } },
    'GET /consumer/lag': {},
    'GET /dlq': {},
    'POST /dlq/redrive': {},
  }),
  expected: ['GET /notifications querystring.orderId'],
  app: () => app,
});
