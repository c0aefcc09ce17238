import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '@comms/kafka';
import type { IncomingMessage } from '@comms/kafka';
import { createPool, statementName, withTransaction } from '@comms/postgres';
import type { Pool } from '@comms/postgres';
import { createTestDatabase, testInfra, uniqueName, waitFor } from './index.js';
import type { TestDatabase } from './index.js';

describe('PostgreSQL from the test infra', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('smoke');
    pool = createPool({ url: db.url, applicationName: 'smoke-test' });
    await pool.query('CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('commits a transaction and reads it back', async () => {
    const id = await withTransaction(pool, async (client) => {
      const inserted = await client.query<{ id: number }>(
        'INSERT INTO notes (body) VALUES ($1) RETURNING id',
        ['hello'],
      );
      return inserted.rows[0]?.id;
    });
    const read = await pool.query('SELECT body FROM notes WHERE id = $1', [id]);
    expect(read.rows).toEqual([{ body: 'hello' }]);
  });

  it('rolls back every write of a transaction that throws', async () => {
    await expect(
      withTransaction(pool, async (client) => {
        await client.query('INSERT INTO notes (body) VALUES ($1)', ['lost']);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const read = await pool.query("SELECT count(*)::int AS n FROM notes WHERE body = 'lost'");
    expect(read.rows[0]).toEqual({ n: 0 });
  });

  it('prepares each parameterized statement once per connection, except SELECT *', async () => {
    const single = createPool({ url: db.url, max: 1 });
    const plain = createPool({ url: db.url, max: 1, prepareStatements: false });
    const preparedNames = async (p: Pool) =>
      (
        await p.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')
      ).rows.map((r) => r.name);
    try {
      const text = 'SELECT body FROM notes WHERE id = $1';
      for (const id of [1, 2, 3]) await single.query(text, [id]);
      await single.query('SELECT * FROM notes WHERE id = $1', [1]);
      expect(await preparedNames(single)).toEqual([statementName(text)]);
      // Still answers correctly from the prepared statement.
      const inserted = await single.query<{ id: number }>(
        'INSERT INTO notes (body) VALUES ($1) RETURNING id',
        ['prepared'],
      );
      const read = await single.query(text, [inserted.rows[0]?.id]);
      expect(read.rows).toEqual([{ body: 'prepared' }]);

      await plain.query(text, [1]);
      expect(await preparedNames(plain)).toEqual([]);
    } finally {
      await single.end();
      await plain.end();
    }
  });

  it('runs a real server, not a stand-in', async () => {
    const version = await pool.query<{ server_version_num: string }>('SHOW server_version_num');
    expect(Number(version.rows[0]?.server_version_num)).toBeGreaterThanOrEqual(150000);
  });
});

describe('Kafka from the test infra', () => {
  it('delivers keyed messages in order through a consumer group', async () => {
    const kafka = createKafka({
      brokers: testInfra().kafkaBrokers.split(','),
      clientId: 'smoke-test',
    });
    const topic = uniqueName('smoke');
    const admin = await kafka.admin();
    await admin.ensureTopics([{ topic, partitions: 3 }]);
    expect(await admin.listTopics()).toContain(topic);

    const producer = await kafka.producer({ idempotent: true });
    const sent = Array.from({ length: 20 }, (_, i) => ({
      key: `order-${i % 4}`,
      value: JSON.stringify({ seq: i }),
      headers: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` },
    }));
    await producer.send(topic, sent);

    const received: IncomingMessage[] = [];
    const consumer = await kafka.consumer({ groupId: uniqueName('smoke-group'), topics: [topic] });
    await consumer.run((message) => {
      received.push(message);
      return Promise.resolve();
    });
    try {
      await waitFor(() => (received.length >= sent.length ? true : undefined), {
        timeoutMs: 30_000,
        message: `expected ${sent.length} messages`,
      });
    } finally {
      await consumer.close();
      await producer.close();
      await admin.deleteTopics([topic]);
      await admin.close();
    }

    expect(received).toHaveLength(sent.length);
    expect(received[0]?.headers['traceparent']).toBe(sent[0]?.headers.traceparent);
    // Same key, same partition, in the order produced.
    for (const key of ['order-0', 'order-1', 'order-2', 'order-3']) {
      const forKey = received.filter((m) => m.key === key);
      expect(new Set(forKey.map((m) => m.partition)).size).toBe(1);
      const seqs = forKey.map(
        (m) => (JSON.parse(m.value?.toString() ?? '{}') as { seq: number }).seq,
      );
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(seqs).toHaveLength(5);
    }
  }, 60_000);
});
