import { Kafka, logLevel as KafkaLogLevel, Partitioners } from 'kafkajs';
import type { KafkaMessage, logCreator as LogCreator, SASLOptions } from 'kafkajs';
import { mskIamToken } from '../connection.js';
import type { KafkaAuth } from '../connection.js';
import type { DriverFactory, DriverMessage } from '../driver.js';
import { quietIdleRequestQueues } from './kafkajs-idle.js';
import { replacingProducer } from './producer-state.js';
import type { KafkaConfig } from '../port.js';

/**
 * The driver on kafkajs 2.2.4, the project's default client. kafkajs has
 * had no release since 2023; it is kept behind the driver interface so it
 * can be replaced without touching the services (docs/communication-styles.md).
 */

// NOT_LEADER_FOR_PARTITION: a fresh topic's leader is known to the
// metadata but not yet to the broker asked for its offsets.
const TRANSIENT_METADATA_ERRORS = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
]);

/** A kafkajs message as the driver hands it over: header values are the last of each name, as text. */
function delivered(topic: string, partition: number, message: KafkaMessage): DriverMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? String(value.at(-1)) : String(value);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value,
    headers,
    timestamp: message.timestamp,
  };
}

const toLogCreator =
  (log: KafkaConfig['log']): LogCreator =>
  () =>
  ({ level, log: entry }) => {
    if (log === undefined) return;
    const message = `${entry.message}${entry['error'] ? `: ${String(entry['error'])}` : ''}`;
    if (level === KafkaLogLevel.ERROR) log({ level: 'error', message });
    else if (level === KafkaLogLevel.WARN) log({ level: 'warn', message });
  };

function toSasl(auth: KafkaAuth): SASLOptions {
  if (auth.mechanism === 'aws-msk-iam') {
    const { region } = auth;
    return { mechanism: 'oauthbearer', oauthBearerProvider: () => mskIamToken(region) };
  }
  return { mechanism: auth.mechanism, username: auth.username, password: auth.password };
}

export const kafkajsDriver: DriverFactory = (config, brokers) => {
  quietIdleRequestQueues();
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: [...brokers],
    connectionTimeout: config.connectionTimeoutMs ?? 3_000,
    ...(config.retries === undefined ? {} : { retry: { retries: config.retries } }),
    logLevel: KafkaLogLevel.WARN,
    logCreator: toLogCreator(config.log),
    ssl: config.ssl ?? false,
    ...(config.sasl === undefined ? {} : { sasl: toSasl(config.sasl) }),
  });

  return {
    name: 'kafkajs',
    isTransientMetadataError(error) {
      const type = (error as { type?: unknown }).type;
      return typeof type === 'string' && TRANSIENT_METADATA_ERRORS.has(type);
    },
    async admin() {
      const admin = kafka.admin();
      await admin.connect();
      return {
        async createTopics(specs) {
          // kafkajs's own waitForLeaders gives up when a fresh topic is briefly
          // unknown to the broker that answers; the port waits instead.
          await admin.createTopics({
            waitForLeaders: false,
            topics: specs.map((s) => ({
              topic: s.topic,
              numPartitions: s.partitions,
              replicationFactor: s.replicationFactor,
            })),
          });
        },
        listTopics: () => admin.listTopics(),
        async deleteTopics(topics) {
          await admin.deleteTopics({ topics: [...topics] });
        },
        async partitionLeaders(topics) {
          const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
          return metadata.map((t) => ({
            topic: t.name,
            partitions: t.partitions.map((p) => ({ partition: p.partitionId, leader: p.leader })),
          }));
        },
        async committedOffsets(groupId, topics) {
          const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
          return committed.flatMap(({ topic, partitions }) =>
            partitions.map((p) => ({ topic, partition: p.partition, offset: Number(p.offset) })),
          );
        },
        async topicOffsets(topic) {
          const offsets = await admin.fetchTopicOffsets(topic);
          return offsets.map((o) => ({
            partition: o.partition,
            low: Number(o.low),
            high: Number(o.high),
          }));
        },
        close: () => admin.disconnect(),
      };
    },
    producer({ idempotent }) {
      // Replaced when the broker no longer knows its idempotence state (producer-state.ts).
      const producer = replacingProducer(
        () =>
          kafka.producer({
            idempotent,
            // An idempotent producer keeps order with one request in flight.
            maxInFlightRequests: idempotent ? 1 : 5,
            createPartitioner: Partitioners.DefaultPartitioner,
          }),
        (reason) =>
          config.log?.({
            level: 'warn',
            message: `the broker lost this producer's state (${reason}): sending through a new producer`,
          }),
      );
      return {
        connect: () => producer.connect(),
        async send(topic, records) {
          await producer.send({ topic, acks: -1, messages: records.map((r) => ({ ...r })) });
        },
        close: () => producer.close(),
      };
    },
    async consumer(options) {
      const consumer = kafka.consumer({
        groupId: options.groupId,
        sessionTimeout: options.sessionTimeoutMs,
        heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeoutMs / 10)),
        maxWaitTimeInMs: options.maxWaitMs,
      });
      await consumer.connect();
      await consumer.subscribe({
        topics: [...options.topics],
        fromBeginning: options.fromBeginning,
      });
      return {
        onJoin(listener) {
          consumer.on(consumer.events.GROUP_JOIN, (event) =>
            listener(event.payload.memberAssignment),
          );
        },
        onLeave(listener) {
          for (const gone of [
            consumer.events.CRASH,
            consumer.events.STOP,
            consumer.events.DISCONNECT,
          ])
            consumer.on(gone, listener);
        },
        async run(each, concurrency) {
          await consumer.run({
            autoCommit: true,
            partitionsConsumedConcurrently: concurrency,
            eachMessage: async (payload) => {
              const { topic, partition, message } = payload;
              await each(delivered(topic, partition, message), () => payload.heartbeat());
            },
          });
        },
        async runBatches(each, concurrency, maxBatch) {
          await consumer.run({
            autoCommit: true,
            // Offsets are resolved chunk by chunk, so a failure part way
            // through a fetch redelivers only what was not handled yet.
            eachBatchAutoResolve: false,
            partitionsConsumedConcurrently: concurrency,
            eachBatch: async (payload) => {
              const { topic, partition, messages } = payload.batch;
              for (let from = 0; from < messages.length; from += maxBatch) {
                if (!payload.isRunning() || payload.isStale()) return;
                const chunk = messages.slice(from, from + maxBatch);
                await each(
                  chunk.map((message) => delivered(topic, partition, message)),
                  () => payload.heartbeat(),
                );
                payload.resolveOffset((chunk.at(-1) as KafkaMessage).offset);
                await payload.commitOffsetsIfNecessary();
                await payload.heartbeat();
              }
            },
          });
        },
        close: () => consumer.disconnect(),
      };
    },
  };
};
