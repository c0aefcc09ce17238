import { createKafka } from '@comms/kafka';
import type {
  IncomingMessage,
  KafkaAdmin,
  KafkaClient,
  KafkaClientName,
  KafkaConsumer,
} from '@comms/kafka';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testInfra, uniqueName, waitFor } from './index.js';

/**
 * The adapter's contract, run the same against every driver through
 * createKafka. It lives here, not in packages/kafka, because the brokers
 * come from this package's global setup, and @comms/testing (through
 * @comms/infra) depends on @comms/kafka: a dev dependency the other way
 * would be a cycle in the turbo graph.
 */

const CLIENTS: readonly KafkaClientName[] = ['kafkajs', 'platformatic'];
const TRACEPARENT = `00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-${'00f067aa0ba902b7'}-01`;

describe.each(CLIENTS)('the Kafka adapter on %s', (client) => {
  let kafka: KafkaClient;
  let admin: KafkaAdmin;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    kafka = createKafka({
      brokers: testInfra().kafkaBrokers.split(','),
      clientId: `contract-${client}`,
      client,
    });
    admin = await kafka.admin();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  afterAll(async () => {
    await admin.close();
  });

  const topicWith = async (partitions: number) => {
    const topic = uniqueName(`contract-${client}`);
    await admin.ensureTopics([{ topic, partitions }]);
    cleanups.push(() => admin.deleteTopics([topic]));
    return topic;
  };

  const producer = async (idempotent = true) => {
    const p = await kafka.producer({ idempotent });
    cleanups.push(() => p.close());
    return p;
  };

  /** A consumer that records what it handled; `handle` may throw to refuse a message. */
  const consume = async (
    groupId: string,
    topic: string,
    handle: (message: IncomingMessage) => void = () => undefined,
  ) => {
    const handled: IncomingMessage[] = [];
    const consumer = await kafka.consumer({ groupId, topics: [topic], sessionTimeoutMs: 30_000 });
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await consumer.close();
    };
    cleanups.push(close);
    await consumer.run((message) => {
      handle(message);
      handled.push(message);
      return Promise.resolve();
    });
    return { consumer, handled, close };
  };

  const until = (what: string, check: () => boolean, timeoutMs = 30_000) =>
    waitFor(() => (check() ? true : undefined), { timeoutMs, message: what });

  const seq = (m: IncomingMessage) => Number(m.value?.toString());

  it('creates topics, then delivers each key on one partition in the order sent', async () => {
    const topic = await topicWith(3);
    expect(await admin.listTopics()).toContain(topic);
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const sent = Array.from({ length: 40 }, (_, i) => ({
      key: keys[i % keys.length] ?? 'a',
      value: String(i),
    }));
    const p = await producer();
    // Several sends, so order holds across requests and not only inside one.
    for (let i = 0; i < sent.length; i += 8) await p.send(topic, sent.slice(i, i + 8));

    const { handled } = await consume(uniqueName('group'), topic);
    await until(`all ${String(sent.length)} messages`, () => handled.length >= sent.length);

    expect(handled).toHaveLength(sent.length);
    for (const key of keys) {
      const forKey = handled.filter((m) => m.key === key);
      expect(new Set(forKey.map((m) => m.partition)).size).toBe(1);
      expect(forKey.map(seq)).toEqual(
        sent.filter((m) => m.key === key).map((m) => Number(m.value)),
      );
    }
  });

  it('redelivers a message whose handler threw, and not one whose handler resolved', async () => {
    const topic = await topicWith(1);
    const groupId = uniqueName('group');
    const p = await producer();
    await p.send(
      topic,
      [0, 1, 2, 3].map((i) => ({ key: 'k', value: String(i) })),
    );

    const attempts = new Map<number, number>();
    const first = await consume(groupId, topic, (message) => {
      const n = (attempts.get(seq(message)) ?? 0) + 1;
      attempts.set(seq(message), n);
      if (seq(message) === 1 && n === 1) throw new Error('refused once');
    });
    await until('all four handled', () => first.handled.length >= 4);
    // The refused message came again, before the ones after it (order per partition).
    expect(first.handled.map(seq)).toEqual([0, 1, 2, 3]);
    expect(attempts.get(1)).toBe(2);
    await waitFor(
      async () => ((await admin.committedOffsets(groupId, topic)).get(0) === 4 ? true : undefined),
      {
        timeoutMs: 15_000,
        message: 'offset 4 committed',
      },
    );
    await first.close();

    // The next member of the group starts after the last resolved message.
    await p.send(topic, [{ key: 'k', value: '4' }]);
    const second = await consume(groupId, topic);
    await until('the new message', () => second.handled.some((m) => seq(m) === 4));
    // One ordered partition: anything redelivered would have come before 4.
    expect(second.handled.map(seq)).toEqual([4]);
  });

  it('commits nothing past a message whose handler keeps failing: the next member gets it', async () => {
    const topic = await topicWith(1);
    const groupId = uniqueName('group');
    const p = await producer();
    await p.send(
      topic,
      [0, 1, 2].map((i) => ({ key: 'k', value: String(i) })),
    );
    let refusals = 0;
    const first = await consume(groupId, topic, (message) => {
      if (seq(message) !== 1) return;
      refusals++;
      throw new Error('refused');
    });
    await until('message 1 refused twice', () => refusals >= 2);
    expect(first.handled.map(seq)).toEqual([0]);
    await waitFor(
      async () => ((await admin.committedOffsets(groupId, topic)).get(0) === 1 ? true : undefined),
      { timeoutMs: 15_000, message: 'offset 1 (after message 0) committed' },
    );
    await first.close();

    const second = await consume(groupId, topic);
    await until('the rest handled', () => second.handled.some((m) => seq(m) === 2));
    expect(second.handled.map(seq)).toEqual([1, 2]);
  });

  it('hands over batches of one partition in order, at most maxBatch, and a refused batch again', async () => {
    const topic = await topicWith(1);
    const groupId = uniqueName('group');
    const p = await producer();
    // Sent before the consumer starts, so a fetch finds many of them at once.
    await p.send(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ key: 'k', value: String(i) })),
    );
    const batches: number[][] = [];
    let refused = false;
    const consumer = await kafka.consumer({ groupId, topics: [topic], sessionTimeoutMs: 30_000 });
    cleanups.push(() => consumer.close());
    await consumer.runBatches(
      (messages) => {
        const seqs = messages.map(seq);
        batches.push(seqs);
        // The batch holding 10 is refused once: it must come again, whole.
        if (!refused && seqs.includes(10)) {
          refused = true;
          return Promise.reject(new Error('refused once'));
        }
        return Promise.resolve();
      },
      { maxBatch: 6 },
    );
    await until('all twenty handled', () => batches.flat().includes(19));
    await waitFor(
      async () => ((await admin.committedOffsets(groupId, topic)).get(0) === 20 ? true : undefined),
      { timeoutMs: 15_000, message: 'offset 20 committed' },
    );
    expect(batches.every((batch) => batch.length >= 1 && batch.length <= 6)).toBe(true);
    expect(batches.some((batch) => batch.length > 1)).toBe(true);
    const refusedAt = batches.findIndex((batch) => batch.includes(10));
    const again = batches[refusedAt + 1] ?? [];
    // Handed over again from its first message, before anything after it.
    expect(again[0]).toBe(batches[refusedAt]?.[0]);
    expect(again).toContain(10);
    // Apart from the refused one, each message once and in offset order.
    const accepted = batches.filter((_, i) => i !== refusedAt).flat();
    expect(accepted).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('splits the partitions between two members, and lag falls to 0', async () => {
    const topic = await topicWith(4);
    const groupId = uniqueName('group');
    const a = await consume(groupId, topic);
    await until('a joined', () => a.consumer.joined());
    const b = await consume(groupId, topic);
    const owned = (c: KafkaConsumer) => c.assignment()[topic] ?? [];
    await until(
      'both members own partitions, together all four',
      () =>
        owned(a.consumer).length > 0 &&
        owned(b.consumer).length > 0 &&
        [...owned(a.consumer), ...owned(b.consumer)].sort().join() === '0,1,2,3',
      45_000,
    );

    const p = await producer();
    await p.send(
      topic,
      Array.from({ length: 40 }, (_, i) => ({ key: `key-${String(i)}`, value: String(i) })),
    );
    await until('all 40 handled', () => a.handled.length + b.handled.length >= 40);
    expect(a.handled.length).toBeGreaterThan(0);
    expect(b.handled.length).toBeGreaterThan(0);
    for (const m of a.handled) expect(owned(a.consumer)).toContain(m.partition);
    for (const m of b.handled) expect(owned(b.consumer)).toContain(m.partition);

    await waitFor(
      async () => {
        const lag = await a.consumer.lag();
        return lag.length === 4 && lag.every((p) => p.lag === 0) ? lag : undefined;
      },
      { timeoutMs: 15_000, message: 'lag 0 on every partition' },
    );
    const lag = await b.consumer.lag();
    expect(lag.reduce((sum, p) => sum + p.end, 0)).toBe(40);
  }, 90_000);

  it('writes every record once with an idempotent producer, sends in parallel', async () => {
    const p = await producer(true);
    // A producer that has already written elsewhere, then rounds of five sends
    // at once to a new topic: @platformatic/kafka 2.12.1 wrote some records
    // twice when the driver let them overlap.
    await p.send(await topicWith(1), [{ key: 'warm-up', value: 'warm-up' }]);
    const topic = await topicWith(3);
    const rounds = 4;
    for (let round = 0; round < rounds; round++)
      await Promise.all(
        [0, 1, 2, 3, 4].map((batch) =>
          p.send(
            topic,
            Array.from({ length: 10 }, (_, i) => ({
              key: `key-${String(i)}`,
              value: String(round * 50 + batch * 10 + i),
            })),
          ),
        ),
      );
    const total = rounds * 50;
    const { handled, consumer } = await consume(uniqueName('group'), topic);
    await until(`${String(total)} messages`, () => handled.length >= total);
    expect(new Set(handled.map(seq)).size).toBe(total);
    const lag = await consumer.lag();
    expect(lag.reduce((sum, partition) => sum + partition.end, 0)).toBe(total);
  });

  it("reports a group's committed offsets, -1 where nothing is committed", async () => {
    const topic = await topicWith(3);
    const groupId = uniqueName('group');
    expect(await admin.committedOffsets(groupId, topic)).toEqual(
      new Map([
        [0, -1],
        [1, -1],
        [2, -1],
      ]),
    );
    const p = await producer();
    await p.send(
      topic,
      Array.from({ length: 12 }, (_, i) => ({ key: `key-${String(i)}`, value: String(i) })),
    );
    const { handled } = await consume(groupId, topic);
    await until('12 handled', () => handled.length >= 12);
    const perPartition = new Map<number, number>();
    for (const m of handled)
      perPartition.set(m.partition, (perPartition.get(m.partition) ?? 0) + 1);
    await waitFor(
      async () => {
        const committed = await admin.committedOffsets(groupId, topic);
        return [0, 1, 2].every((i) => committed.get(i) === (perPartition.get(i) ?? -1))
          ? true
          : undefined;
      },
      { timeoutMs: 15_000, message: 'the handled count committed on each partition' },
    );
  });

  it("gives each partition's first offset and high watermark, in partition order", async () => {
    const topic = await topicWith(3);
    expect(await admin.topicOffsets(topic)).toEqual([
      { partition: 0, low: 0, high: 0 },
      { partition: 1, low: 0, high: 0 },
      { partition: 2, low: 0, high: 0 },
    ]);
    const p = await producer();
    const keys = Array.from({ length: 9 }, (_, i) => `key-${String(i)}`);
    await p.send(
      topic,
      keys.map((key) => ({ key, value: key })),
    );
    const { handled } = await consume(uniqueName('group'), topic);
    await until('9 handled', () => handled.length >= 9);
    const perPartition = [0, 1, 2].map((i) => handled.filter((m) => m.partition === i).length);
    expect(await admin.topicOffsets(topic)).toEqual(
      perPartition.map((high, partition) => ({ partition, low: 0, high })),
    );
  });

  it('carries headers, a traceparent among them, a null key and binary values', async () => {
    const topic = await topicWith(1);
    const p = await producer();
    const binary = Buffer.from([0, 255, 1, 254]);
    await p.send(topic, [
      { key: null, value: binary, headers: { traceparent: TRACEPARENT, 'x-note': 'grüße' } },
      { key: 'k', value: null, headers: {} },
    ]);
    const { handled } = await consume(uniqueName('group'), topic);
    await until('both messages', () => handled.length >= 2);
    const [withHeaders, tombstone] = handled;
    expect(withHeaders?.key).toBeNull();
    expect(withHeaders?.value).toEqual(binary);
    expect(withHeaders?.headers['traceparent']).toBe(TRACEPARENT);
    expect(withHeaders?.headers['x-note']).toBe('grüße');
    expect(tombstone?.key).toBe('k');
    expect(tombstone?.value).toBeNull();
  });

  it('leaves the group on close, so the next member takes over at once', async () => {
    const topic = await topicWith(2);
    const groupId = uniqueName('group');
    const first = await consume(groupId, topic);
    await until('first joined', () => first.consumer.joined());
    const started = Date.now();
    await first.close();
    expect(Date.now() - started).toBeLessThan(5_000);

    // With a 30 s session, a member that did not leave would hold its partitions for 30 s.
    const second = await consume(groupId, topic);
    const p = await producer();
    await p.send(topic, [
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    await until(
      'the second member has both partitions',
      () => (second.consumer.assignment()[topic] ?? []).length === 2,
      15_000,
    );
    await until('the second member handled both', () => second.handled.length >= 2, 15_000);
  });

  // kafkajs 2.2.4's request queues re-armed a 1 ms timer per connection while
  // idle, about 900 wake-ups a second each (packages/kafka/src/drivers/kafkajs-idle.ts).
  it('wakes no timer while idle: a connected producer and consumer arm none under 1 ms in 2 s', async () => {
    const topic = await topicWith(1);
    const p = await producer();
    const { consumer, handled } = await consume(uniqueName('idle'), topic);
    await until('the consumer joined', () => consumer.joined());
    await p.send(topic, [{ key: 'k', value: 'v' }]);
    await until('the message was handled', () => handled.length === 1);
    const original = globalThis.setTimeout;
    let immediate = 0;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      const ms = args[1];
      if (typeof ms !== 'number' || ms < 1) immediate += 1;
      return original(...args);
    }) as typeof setTimeout;
    try {
      await new Promise((resolve) => original(resolve, 2_000));
    } finally {
      globalThis.setTimeout = original;
    }
    expect(immediate).toBeLessThan(50);
  });
});
