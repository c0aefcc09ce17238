// The consumer contract, as Pact checks one for HTTP: one example of every
// event version ever published (kept in the contracts baseline) goes through
// the real service, its consumer and its PostgreSQL, and each is handled.
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUDEVENTS_CONTENT_TYPE, createEvent, DLQ_HEADERS } from '@comms/contracts';
import { findFreePort } from '@comms/infra';
import type { IncomingMessage, KafkaClient, KafkaConsumer, KafkaProducer } from '@comms/kafka';
import { createTestDatabase, testInfra, uniqueName, waitFor } from '@comms/testing';
import type { TestDatabase } from '@comms/testing';
import { handlingOf } from './handled-events.js';
import type { startNotificationService } from './main.js';
import { connectToTopics, startTestNotificationService, suiteTopics } from './test-support.js';

/** kcat, a Kafka client from outside the project (Debian package `kcat`), if installed. */
const KCAT = (() => {
  try {
    execFileSync('kcat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const BASELINE = createRequire(import.meta.url).resolve('@comms/contracts/baseline/events.json');

interface Published {
  readonly topic: string;
  readonly example: { id: string; type: string; subject: string };
}

let db: TestDatabase;
let kafka: KafkaClient;
let producer: KafkaProducer;
let dlqReader: KafkaConsumer;
const deadLettered: IncomingMessage[] = [];
let service: Awaited<ReturnType<typeof startNotificationService>>;
let published: [string, Published][];
const topics = suiteTopics();

beforeAll(async () => {
  const baseline = JSON.parse(await readFile(BASELINE, 'utf8')) as {
    events: Record<string, Published>;
  };
  published = Object.entries(baseline.events);
  db = await createTestDatabase('notification_contract');
  ({ kafka, producer } = await connectToTopics(topics, { clientId: 'contract-test' }));
  dlqReader = await kafka.consumer({ groupId: uniqueName('dlq-reader'), topics: [topics.dlq] });
  await dlqReader.run((message) => {
    deadLettered.push(message);
    return Promise.resolve();
  });
  service = await startTestNotificationService(db.url, topics, {
    MAX_ATTEMPTS: '3',
    RETRY_BASE_MS: '20',
    PENDING_RETRY_MS: '200',
    // Nobody answers there: the contact comes from the user.registered example.
    USER_SERVICE_HTTP_URL: `http://127.0.0.1:${await findFreePort()}`,
    USER_CALL_TIMEOUT_MS: '200',
  });
}, 90_000);

afterAll(async () => {
  expect(await service.stop()).toBe(0);
  await dlqReader.close();
  await producer.close();
  await db.drop();
});

describe('notification-service consumes every event version ever published', () => {
  it('handles the baseline example of each, as the producers send it', async () => {
    const topicOf = (topic: string) => (topic === 'users' ? topics.users : topics.orders);
    // The order of the examples does not matter: an order event that comes
    // before its user's registration waits in pending_events until it does.
    for (const [, { topic, example }] of published) {
      await producer.send(topicOf(topic), [
        {
          key: example.subject,
          value: JSON.stringify(example),
          headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
        },
      ]);
    }
    const handled = published.filter(([type]) => handlingOf(type) === 'handle');
    const ids = handled.map(([, p]) => p.example.id);
    const dead = () => deadLettered.map((m) => m.headers[DLQ_HEADERS.error] ?? '');
    try {
      await waitFor(
        async () => {
          const done = await service.pool.query(
            'SELECT 1 FROM processed_events WHERE event_id = ANY($1::uuid[])',
            [ids],
          );
          return done.rowCount === ids.length ? true : undefined;
        },
        { timeoutMs: 30_000, message: 'not every baseline example was handled' },
      );
    } catch (error) {
      // Say why, when the consumer said why.
      expect(dead()).toEqual([]);
      throw error;
    }
    const notified = await service.pool.query<{ event_type: string }>(
      'SELECT event_type FROM notifications WHERE event_id = ANY($1::uuid[]) ORDER BY event_type',
      [ids],
    );
    // Every example that tells its user something did: all but the deactivation.
    expect(notified.rows.map((r) => r.event_type)).toEqual(
      handled
        .map(([type]) => type)
        .filter((type) => type !== 'user.deactivated.v1')
        .sort(),
    );
    expect(dead()).toEqual([]);
  });
});

describe('binary-mode CloudEvents from a client outside the project', () => {
  it.skipIf(!KCAT)(
    KCAT
      ? 'handles an event kcat sends with ce_* headers like a structured one'
      : 'handles an event kcat sends with ce_* headers (skipped: kcat is not installed; apt-get install kcat)',
    async () => {
      const registration = (userId: string) =>
        createEvent('user.registered.v1', {
          source: '/contract-test',
          subject: userId,
          data: {
            userId,
            name: 'Grace Hopper',
            email: `${uniqueName('grace')}@example.com`,
            registeredAt: new Date().toISOString(),
          },
        });
      const structured = registration(randomUUID());
      await producer.send(topics.users, [
        {
          key: structured.subject,
          value: JSON.stringify(structured),
          headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
        },
      ]);
      const binary = registration(randomUUID());
      const headers = {
        ce_specversion: binary.specversion,
        ce_id: binary.id,
        ce_source: binary.source,
        ce_type: binary.type,
        ce_time: binary.time,
        ce_subject: binary.subject,
        'content-type': 'application/json',
      };
      await new Promise<void>((resolve, reject) => {
        const child = execFile(
          'kcat',
          [
            '-P',
            '-b',
            testInfra().kafkaBrokers,
            '-t',
            topics.users,
            '-k',
            binary.subject,
            ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}=${value}`]),
          ],
          { timeout: 20_000 },
          (error, _stdout, stderr) =>
            error === null ? resolve() : reject(new Error(`kcat failed: ${stderr}`)),
        );
        child.stdin?.end(`${JSON.stringify(binary.data)}\n`);
      });

      const notificationOf = (eventId: string) =>
        waitFor(
          async () => {
            const found = await service.pool.query<{
              event_type: string;
              kind: string;
              subject_type: string;
              subject_id: string;
              recipient_name: string;
              subject: string;
              body: string;
            }>(
              `SELECT event_type, kind, subject_type, subject_id::text, recipient_name, subject, body
                 FROM notifications WHERE event_id = $1`,
              [eventId],
            );
            return found.rows[0];
          },
          { timeoutMs: 20_000, message: `no notification for event ${eventId}` },
        );
      const fromStructured = await notificationOf(structured.id);
      const fromBinary = await notificationOf(binary.id);
      expect(fromBinary.subject_id).toBe(binary.subject);
      expect({ ...fromBinary, subject_id: '' }).toEqual({ ...fromStructured, subject_id: '' });
      expect(fromBinary.kind).toBe('welcome');
      expect(deadLettered.map((m) => m.headers[DLQ_HEADERS.error])).toEqual([]);
    },
  );
});
