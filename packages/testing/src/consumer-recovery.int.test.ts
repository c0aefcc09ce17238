import { createKafka } from '@comms/kafka';
import type { IncomingMessage, KafkaAdmin, KafkaClient, KafkaClientName } from '@comms/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testInfra, uniqueName, waitFor } from './index.js';

/**
 * A consumer outlives a failure of its fetch loop, on every driver. The
 * failure is provoked with real Kafka: the topic is deleted under a running
 * consumer and created again. kafkajs resets its position in place;
 * @platformatic/kafka ends its message stream for good (the fetch fails past
 * the library's retries), so its driver leaves the group and joins again.
 * Next to driver-contract.int.test.ts for the same reason: the brokers come
 * from this package's global setup.
 */

const CLIENTS: readonly KafkaClientName[] = ['kafkajs', 'platformatic'];

describe.each(CLIENTS)('a consumer on %s whose topic is deleted and created again', (client) => {
  let kafka: KafkaClient;
  let admin: KafkaAdmin;

  beforeAll(async () => {
    kafka = createKafka({
      brokers: testInfra().kafkaBrokers.split(','),
      clientId: `recovery-${client}`,
      client,
    });
    admin = await kafka.admin();
  });

  afterAll(async () => {
    await admin.close();
  });

  it('gets new messages again, and reports itself out of the group until it is back', async () => {
    const topic = uniqueName(`recovery-${client}`);
    await admin.ensureTopics([{ topic, partitions: 1 }]);
    const producer = await kafka.producer();
    const consumer = await kafka.consumer({
      groupId: uniqueName('group'),
      topics: [topic],
      sessionTimeoutMs: 10_000,
    });
    const handled: string[] = [];
    const joinedSeen = new Set<boolean>();
    const watch = setInterval(() => joinedSeen.add(consumer.joined()), 10);
    try {
      await consumer.run((message: IncomingMessage) => {
        handled.push(message.value?.toString() ?? '');
        return Promise.resolve();
      });
      await producer.send(topic, [{ key: 'k', value: 'before' }]);
      await waitFor(() => (handled.includes('before') ? true : undefined), {
        timeoutMs: 30_000,
        message: 'the first message',
      });
      expect(consumer.joined()).toBe(true);
      joinedSeen.clear();

      await admin.deleteTopics([topic]);
      await waitFor(async () => ((await admin.listTopics()).includes(topic) ? undefined : true), {
        timeoutMs: 30_000,
        message: 'the topic gone',
      });
      await admin.ensureTopics([{ topic, partitions: 1 }]);
      // Send until one arrives: the new topic starts at offset 0 again, and a
      // client that kept its old position skips what lies below it.
      let sent = 0;
      await waitFor(
        async () => {
          if (handled.some((value) => value.startsWith('after-'))) return true;
          await producer.send(topic, [{ key: 'k', value: `after-${String(sent++)}` }]);
          return undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, message: 'a message sent after the topic came back' },
      );
      expect(consumer.joined()).toBe(true);
      // kafkajs never leaves here (it resets its offset in place); the
      // platformatic driver leaves and rejoins, and says so meanwhile.
      if (client === 'platformatic') expect(joinedSeen).toContain(false);
    } finally {
      clearInterval(watch);
      await consumer.close();
      await producer.close();
      await admin.deleteTopics([topic]).catch(() => undefined);
    }
  }, 120_000);
});
