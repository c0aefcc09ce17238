import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, startNativeKafka } from '@comms/infra';
import { createKafka } from '@comms/kafka';
import type { IncomingMessage, KafkaClient } from '@comms/kafka';
import { createPool, migrate, withTransaction } from '@comms/postgres';
import type { Pool } from '@comms/postgres';
import { createTestDatabase, testInfra, uniqueName, waitFor } from '@comms/testing';
import type { TestDatabase } from '@comms/testing';
import { enqueue, OUTBOX_MIGRATION, startOutboxRelay } from './outbox.js';

let db: TestDatabase;
let pool: Pool;
let kafka: KafkaClient;

beforeAll(async () => {
  db = await createTestDatabase('outbox');
  // Thirty transactions at once queue for twelve connections; on a busy machine that wait
  // can pass the default 5 s connect timeout, which is not what these tests are about.
  pool = createPool({ url: db.url, max: 12, connectionTimeoutMillis: 60_000 });
  await migrate(pool, [OUTBOX_MIGRATION]);
  kafka = createKafka({
    brokers: testInfra().kafkaBrokers.split(','),
    clientId: 'outbox-test',
    client: testInfra().kafkaClient,
  });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

async function freshTopic(): Promise<string> {
  const topic = uniqueName('outbox');
  const admin = await kafka.admin();
  await admin.ensureTopics([{ topic, partitions: 3 }]);
  await admin.close();
  return topic;
}

async function collect(topic: string, brokers = testInfra().kafkaBrokers) {
  const received: IncomingMessage[] = [];
  const consumer = await createKafka({
    brokers: brokers.split(','),
    clientId: 'outbox-test-reader',
    client: testInfra().kafkaClient,
  }).consumer({
    groupId: uniqueName('outbox-reader'),
    topics: [topic],
  });
  await consumer.run((m) => {
    received.push(m);
    return Promise.resolve();
  });
  // Joined before a test opens a transaction: an open transaction holds back
  // commit-safe readers of every database on the shared server.
  await waitFor(() => (consumer.joined() ? true : undefined), {
    timeoutMs: 30_000,
    message: 'the reader never joined its group',
  });
  return { received, close: () => consumer.close() };
}

async function clearOutbox() {
  await pool.query('DELETE FROM outbox');
}

describe('outbox relay', () => {
  it('publishes a row whose transaction commits after a later one', async () => {
    await clearOutbox();
    const topic = await freshTopic();
    const producer = await kafka.producer();
    const relay = startOutboxRelay({ pool, producer, pollMs: 20 });
    const reader = await collect(topic);
    try {
      // A takes the lower id but commits last.
      const early = await pool.connect();
      await early.query('BEGIN');
      await enqueue(early, [{ topic, key: 'a', payload: 'first-inserted' }]);
      await withTransaction(pool, (c) =>
        enqueue(c, [{ topic, key: 'b', payload: 'first-committed' }]),
      );
      await waitFor(() => (reader.received.length >= 1 ? true : undefined), { timeoutMs: 20_000 });
      await early.query('COMMIT');
      early.release();
      await waitFor(() => (reader.received.length >= 2 ? true : undefined), {
        timeoutMs: 20_000,
        message: 'the late-committing row was never published',
      });
      expect(reader.received.map((m) => m.value?.toString())).toEqual([
        'first-committed',
        'first-inserted',
      ]);
      // Kafka may deliver before the relay has committed "published"; wait for it.
      await waitFor(async () => ((await relay.backlog()).rows === 0 ? true : undefined), {
        message: 'rows still marked unpublished',
      });
    } finally {
      await relay.stop();
      await reader.close();
      await producer.close();
    }
  }, 60_000);

  it('publishes at once when woken after a commit, without waiting for the next poll', async () => {
    await clearOutbox();
    const topic = await freshTopic();
    const producer = await kafka.producer();
    // One poll at start, then not for ten minutes: only wake() can explain a prompt publish.
    const relay = startOutboxRelay({ pool, producer, pollMs: 600_000 });
    const reader = await collect(topic);
    try {
      await withTransaction(pool, (c) => enqueue(c, [{ topic, key: 'k', payload: 'before' }]));
      relay.wake();
      await waitFor(() => (reader.received.length >= 1 ? true : undefined), {
        timeoutMs: 20_000,
        message: 'the first row was not published',
      });
      await waitFor(async () => ((await relay.backlog()).rows === 0 ? true : undefined), {
        message: 'the first row stayed unpublished',
      });
      await withTransaction(pool, (c) => enqueue(c, [{ topic, key: 'k', payload: 'woken' }]));
      relay.wake();
      await waitFor(() => (reader.received.length >= 2 ? true : undefined), {
        timeoutMs: 20_000,
        message: 'wake() did not publish the row before the next poll',
      });
      expect(reader.received.map((m) => m.value?.toString())).toEqual(['before', 'woken']);
    } finally {
      await relay.stop();
      await reader.close();
      await producer.close();
    }
  }, 60_000);

  it('with two relays on one database, publishes every row exactly once and in order per key', async () => {
    await clearOutbox();
    const topic = await freshTopic();
    const producers = [await kafka.producer(), await kafka.producer()];
    const relays = producers.map((producer) =>
      startOutboxRelay({ pool, producer, pollMs: 5, batchSize: 10 }),
    );
    const reader = await collect(topic);
    const total = 300;
    // Concurrent transactions get keys of their own: the outbox keeps order per
    // key for writes that commit one after another (as one aggregate's do), and
    // promises nothing between transactions that are open at the same time.
    const keyOf = (batch: number, i: number) => `b${String(batch)}-k${String(i % 5)}`;
    try {
      await Promise.all(
        Array.from({ length: total / 10 }, (_, batch) =>
          withTransaction(pool, (c) =>
            enqueue(
              c,
              Array.from({ length: 10 }, (_, i) => ({
                topic,
                key: keyOf(batch, i),
                payload: JSON.stringify({ n: batch * 10 + i, key: keyOf(batch, i) }),
              })),
            ),
          ),
        ),
      );
      await waitFor(() => (reader.received.length >= total ? true : undefined), {
        timeoutMs: 30_000,
      });
      // Give a duplicate a chance to show up before counting.
      await waitFor(async () => ((await relays[0]?.backlog())?.rows === 0 ? true : undefined));
      const payloads = reader.received.map(
        (m) => JSON.parse(m.value?.toString() ?? '{}') as { n: number; key: string },
      );
      expect(new Set(payloads.map((p) => p.n)).size).toBe(total);
      expect(payloads).toHaveLength(total);
      const ids = await pool.query<{ id: string; payload: string }>(
        'SELECT id, payload FROM outbox ORDER BY id',
      );
      const idOf = new Map(ids.rows.map((r) => [r.payload, Number(r.id)]));
      const keys = new Set(reader.received.map((m) => m.key ?? ''));
      expect(keys.size).toBe(total / 2);
      for (const key of keys) {
        const order = reader.received
          .filter((m) => m.key === key)
          .map((m) => idOf.get(m.value?.toString() ?? '') ?? -1);
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
      await reader.close();
      await Promise.all(producers.map((p) => p.close()));
    }
  }, 90_000);

  it('keeps rows while Kafka is down and publishes them once it is back', async () => {
    await clearOutbox();
    const port = await findFreePort();
    const brokers = `127.0.0.1:${port}`;
    const dir = await mkdtemp(join(tmpdir(), 'outbox-kafka-'));
    const producer = await createKafka({
      brokers: [brokers],
      clientId: 'outbox-down',
      client: testInfra().kafkaClient,
      retries: 1,
    }).producer({
      lazy: true,
    });
    const relay = startOutboxRelay({ pool, producer, pollMs: 50 });
    let broker: Awaited<ReturnType<typeof startNativeKafka>> | undefined;
    try {
      await withTransaction(pool, (c) =>
        enqueue(c, [
          { topic: 'orders', key: 'x', payload: 'one' },
          { topic: 'orders', key: 'x', payload: 'two' },
        ]),
      );
      // Nothing listens on that port: the rows must wait, not vanish.
      await expect(relay.flush()).rejects.toThrow();
      expect((await relay.backlog()).rows).toBe(2);

      broker = await startNativeKafka({ port, controllerPort: await findFreePort(), dir });
      const admin = await createKafka({
        brokers: [brokers],
        clientId: 'outbox-down-admin',
        client: testInfra().kafkaClient,
      }).admin();
      await admin.ensureTopics([{ topic: 'orders', partitions: 1 }]);
      await admin.close();
      const reader = await collect('orders', brokers);
      try {
        await waitFor(() => (reader.received.length >= 2 ? true : undefined), {
          timeoutMs: 60_000,
          message: 'rows were not published after Kafka came back',
        });
        expect(reader.received.map((m) => m.value?.toString())).toEqual(['one', 'two']);
        // Kafka may deliver before the relay has committed "published"; wait for it.
        await waitFor(async () => ((await relay.backlog()).rows === 0 ? true : undefined), {
          message: 'rows still marked unpublished',
        });
      } finally {
        await reader.close();
      }
    } finally {
      await relay.stop();
      await producer.close().catch(() => undefined);
      await broker?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
