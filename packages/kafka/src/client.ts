import { pollUntil } from '@comms/resilience';
import { parseBrokers } from './brokers.js';
import type { DriverAdmin, DriverFactory, KafkaDriver } from './driver.js';
import type { KafkaClientName } from './connection.js';
import { kafkajsDriver } from './drivers/kafkajs.js';
import { platformaticDriver } from './drivers/platformatic.js';
import { groupLag, observeLag } from './lag.js';
import type {
  ConsumerOptions,
  KafkaAdmin,
  KafkaClient,
  KafkaConfig,
  KafkaConsumer,
  KafkaProducer,
  OutgoingMessage,
} from './port.js';
import { kafkaMetrics, tracedBatch, tracedHandle, tracedSend } from './telemetry.js';

const TOPIC_READY_TIMEOUT_MS = 30_000;

const DRIVERS: Readonly<Record<KafkaClientName, DriverFactory>> = {
  kafkajs: kafkajsDriver,
  platformatic: platformaticDriver,
};

/** The driver of a client library, as `KAFKA_CLIENT` names it. */
export function driverFor(client: KafkaClientName): DriverFactory {
  return DRIVERS[client];
}

/**
 * Creates the adapter for a cluster on a driver: `driverFactory` if given,
 * else the one `config.client` names (kafkajs by default). Validates the
 * broker list first.
 */
export function createKafka(config: KafkaConfig, driverFactory?: DriverFactory): KafkaClient {
  const brokers = parseBrokers(config.brokers.join(','));
  const driver = (driverFactory ?? driverFor(config.client ?? 'kafkajs'))(config, brokers);
  return {
    brokers,
    async admin() {
      return wrapAdmin(await driver.admin(), driver);
    },
    async producer(options) {
      const wrapped = wrapProducer(driver, options?.idempotent ?? true);
      if (options?.lazy !== true) await wrapped.connect();
      return wrapped;
    },
    async consumer(options) {
      const consumer = await driver.consumer({
        groupId: options.groupId,
        topics: options.topics,
        fromBeginning: options.fromBeginning ?? true,
        sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
        maxWaitMs: options.maxWaitMs ?? 500,
      });
      return wrapConsumer(consumer, options, driver);
    },
  };
}

function wrapAdmin(admin: DriverAdmin, driver: KafkaDriver): KafkaAdmin {
  return {
    async ensureTopics(specs) {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((spec) => !existing.has(spec.topic));
      if (missing.length > 0)
        await admin.createTopics(
          missing.map((spec) => ({
            topic: spec.topic,
            partitions: spec.partitions ?? 3,
            replicationFactor: spec.replicationFactor ?? 1,
          })),
        );
      // KRaft propagates a new topic's metadata asynchronously: wait until
      // every partition has a leader, so the first send does not race it.
      const topics = specs.map((spec) => spec.topic);
      let lastProblem = 'no metadata yet';
      await pollUntil(
        async () => {
          try {
            const metadata = await admin.partitionLeaders(topics);
            const leaderless = metadata.flatMap((t) =>
              t.partitions
                .filter((p) => p.leader < 0)
                .map((p) => `${t.topic}/${String(p.partition)}`),
            );
            if (metadata.length === topics.length && leaderless.length === 0) return true;
            lastProblem = `partitions without a leader: ${leaderless.join(', ') || 'topic missing'}`;
            return undefined;
          } catch (error) {
            if (!driver.isTransientMetadataError(error)) throw error;
            lastProblem = (error as { type?: string }).type ?? String(error);
            return undefined;
          }
        },
        {
          timeoutMs: TOPIC_READY_TIMEOUT_MS,
          transient: () => false,
          onTimeout: () =>
            new Error(
              `topics ${topics.join(', ')} not ready after ${String(TOPIC_READY_TIMEOUT_MS)} ms (${lastProblem})`,
            ),
        },
      );
    },
    listTopics: () => admin.listTopics(),
    deleteTopics: (topics) => admin.deleteTopics(topics),
    async committedOffsets(groupId, topic) {
      const offsets = await admin.committedOffsets(groupId, [topic]);
      return new Map(offsets.map((o) => [o.partition, o.offset]));
    },
    async topicOffsets(topic) {
      // Just after a topic is created its leader may not answer yet: ask again.
      const offsets = await pollUntil(() => admin.topicOffsets(topic), {
        timeoutMs: TOPIC_READY_TIMEOUT_MS,
        intervalMs: 200,
        transient: (error) => driver.isTransientMetadataError(error),
      });
      return offsets
        .map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
        .sort((a, b) => a.partition - b.partition);
    },
    close: () => admin.close(),
  };
}

/**
 * A failed send drops the connection and the next send connects again, so
 * a producer outlives a broker restart; the caller decides whether to retry.
 * Sends go one at a time: both kafkajs 2.2.4 and @platformatic/kafka 2.12.1
 * wrote some records twice when an idempotent producer's sends overlapped
 * (driver-contract.int.test.ts in packages/testing).
 */
function wrapProducer(driver: KafkaDriver, idempotent: boolean): KafkaProducer {
  const producer = driver.producer({ idempotent });
  const metrics = kafkaMetrics();
  let connected: Promise<void> | undefined;
  const connect = () => {
    connected ??= producer.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    return connected;
  };
  const sendNow = async (topic: string, messages: readonly OutgoingMessage[]) => {
    try {
      await tracedSend(topic, messages, metrics, async (records) => {
        await connect();
        await producer.send(topic, records);
      });
    } catch (error) {
      connected = undefined;
      await producer.close().catch(() => undefined);
      throw error;
    }
  };
  let sending: Promise<unknown> = Promise.resolve();
  return {
    connect,
    send(topic, messages) {
      const turn = sending.then(() => sendNow(topic, messages));
      sending = turn.catch(() => undefined);
      return turn;
    },
    async close() {
      connected = undefined;
      await producer.close();
    },
  };
}

function wrapConsumer(
  consumer: Awaited<ReturnType<KafkaDriver['consumer']>>,
  options: ConsumerOptions,
  driver: KafkaDriver,
): KafkaConsumer {
  const relation = options.traceRelation ?? 'child';
  const metrics = kafkaMetrics();
  let joined = false;
  let assignment: Record<string, number[]> = {};
  consumer.onJoin((next) => {
    joined = true;
    assignment = next;
  });
  consumer.onLeave(() => {
    joined = false;
  });
  let admin: Promise<DriverAdmin> | undefined;
  const closing = new AbortController();
  const lag = async () => {
    admin ??= driver.admin().catch((error: unknown) => {
      admin = undefined;
      throw error;
    });
    return groupLag(await admin, options.groupId, options.topics);
  };
  const stopObserving = observeLag(options.groupId, lag);
  return {
    joined: () => joined,
    assignment: () => assignment,
    lag,
    async run(handler) {
      await consumer.run(
        (message, heartbeat) =>
          tracedHandle(message, options.groupId, relation, metrics, () =>
            handler(message, { heartbeat, signal: closing.signal }),
          ),
        options.partitionsConsumedConcurrently ?? 1,
      );
    },
    async runBatches(handler, batchOptions = {}) {
      await consumer.runBatches(
        (messages, heartbeat) =>
          tracedBatch(messages, options.groupId, relation, metrics, (within) =>
            handler(messages, { heartbeat, signal: closing.signal, within }),
          ),
        options.partitionsConsumedConcurrently ?? 1,
        batchOptions.maxBatch ?? 100,
      );
    },
    async close() {
      closing.abort();
      stopObserving();
      await consumer.close();
      await (await admin?.catch(() => undefined))?.close().catch(() => undefined);
    },
  };
}
