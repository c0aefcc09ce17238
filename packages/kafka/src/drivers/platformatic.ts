import {
  Admin,
  compatibilityPartitioner,
  Consumer,
  findErrorBy,
  Producer,
  SASLMechanisms,
  stringDeserializer,
  stringSerializer,
} from '@platformatic/kafka';
import type { BaseOptions, SASLOptions } from '@platformatic/kafka';
import { mskIamToken } from '../connection.js';
import type { KafkaAuth } from '../connection.js';
import type { DriverFactory } from '../driver.js';
import type { KafkaConfig } from '../port.js';
import { streamConsumer } from './platformatic-stream.js';

/**
 * The driver on @platformatic/kafka, chosen with `KAFKA_CLIENT=platformatic`.
 * The library hands over a stream of messages and leaves ordering, commits
 * and redelivery to its user; this driver gives them the semantics of the
 * kafkajs one (driver.ts): one message at a time per partition, its offset
 * committed only after the handler resolved, a rejected one handed over
 * again.
 */

function toSasl(auth: KafkaAuth): SASLOptions {
  if (auth.mechanism === 'aws-msk-iam') {
    const { region } = auth;
    // Called on every (re)authentication, so the 15-minute token stays fresh.
    return {
      mechanism: SASLMechanisms.OAUTHBEARER,
      token: async () => (await mskIamToken(region)).value,
    };
  }
  const mechanism = {
    plain: SASLMechanisms.PLAIN,
    'scram-sha-256': SASLMechanisms.SCRAM_SHA_256,
    'scram-sha-512': SASLMechanisms.SCRAM_SHA_512,
  }[auth.mechanism];
  return { mechanism, username: auth.username, password: auth.password };
}

function baseOptions(config: KafkaConfig, brokers: readonly string[]): BaseOptions {
  return {
    clientId: config.clientId,
    bootstrapBrokers: [...brokers],
    connectTimeout: config.connectionTimeoutMs ?? 3_000,
    ...(config.retries === undefined ? {} : { retries: config.retries }),
    ...(config.ssl === true ? { tls: {} } : {}),
    ...(config.sasl === undefined ? {} : { sasl: toSasl(config.sasl) }),
  };
}

const valueSerializer = (value?: string | Buffer | null) =>
  value === undefined || value === null
    ? undefined
    : Buffer.isBuffer(value)
      ? value
      : Buffer.from(value);

export const platformaticDriver: DriverFactory = (config, brokers) => {
  const base = baseOptions(config, brokers);
  const warn = (message: string, error: unknown) =>
    config.log?.({ level: 'warn', message: `${message}: ${String(error)}` });

  return {
    name: 'platformatic',
    isTransientMetadataError(error) {
      return error instanceof Error && findErrorBy(error, 'hasStaleMetadata', true) !== null;
    },
    async admin() {
      const admin = new Admin(base);
      // The library connects on the first request; ask one so a bad address fails here.
      await admin.metadata({ topics: [] });
      const partitionsOf = async (topics: readonly string[]) => {
        const metadata = await admin.metadata({ topics: [...topics], forceUpdate: true });
        return topics.map((topic) => ({
          topic,
          partitions: metadata.topics.get(topic)?.partitions ?? [],
        }));
      };
      const listOffsets = async (topic: string, count: number, timestamp: bigint) => {
        const [listed] = await admin.listOffsets({
          topics: [
            {
              name: topic,
              partitions: Array.from({ length: count }, (_, partitionIndex) => ({
                partitionIndex,
                timestamp,
              })),
            },
          ],
        });
        return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, Number(p.offset)]));
      };
      return {
        async createTopics(specs) {
          await admin.createTopics({
            topics: specs.map((s) => ({
              topic: s.topic,
              partitions: s.partitions,
              replicas: s.replicationFactor,
            })),
          });
        },
        listTopics: () => admin.listTopics(),
        deleteTopics: (topics) => admin.deleteTopics({ topics: [...topics] }),
        async partitionLeaders(topics) {
          return (await partitionsOf(topics)).map(({ topic, partitions }) => ({
            topic,
            partitions: partitions.map((p, partition) => ({ partition, leader: p.leader })),
          }));
        },
        async committedOffsets(groupId, topics) {
          // Name every partition, so one without a commit is reported as -1 (as kafkajs does).
          const known = await partitionsOf(topics);
          const [group] = await admin.listConsumerGroupOffsets({
            groups: [
              {
                groupId,
                topics: known.map(({ topic, partitions }) => ({
                  name: topic,
                  partitionIndexes: partitions.map((_, i) => i),
                })),
              },
            ],
          });
          return (group?.topics ?? []).flatMap((t) =>
            t.partitions.map((p) => ({
              topic: t.name,
              partition: p.partitionIndex,
              offset: Number(p.committedOffset),
            })),
          );
        },
        async topicOffsets(topic) {
          const [known] = await partitionsOf([topic]);
          const count = known?.partitions.length ?? 0;
          const low = await listOffsets(topic, count, -2n);
          const high = await listOffsets(topic, count, -1n);
          return Array.from({ length: count }, (_, partition) => ({
            partition,
            low: low.get(partition) ?? 0,
            high: high.get(partition) ?? 0,
          }));
        },
        close: () => admin.close(),
      };
    },
    producer({ idempotent }) {
      // A closed library producer cannot be opened again: connect makes a new one.
      let producer: Producer<string, string | Buffer | null, string, string> | undefined;
      const open = () =>
        (producer ??= new Producer({
          ...base,
          // An idempotent producer retries forever unless told a number above 1;
          // the port wants a send to fail so the caller can decide.
          retries: idempotent ? Math.max(2, config.retries ?? 5) : (config.retries ?? 5),
          idempotent,
          acks: -1,
          // Java's (and kafkajs') murmur2 mapping, so a key lands on the same
          // partition whichever client wrote it: order survives a migration.
          partitioner: compatibilityPartitioner,
          serializers: {
            key: stringSerializer,
            value: valueSerializer,
            headerKey: stringSerializer,
            headerValue: stringSerializer,
          },
        }));
      return {
        async connect() {
          await open().metadata({ topics: [] });
        },
        async send(topic, records) {
          await open().send({
            acks: -1,
            messages: records.map((r) => ({
              topic,
              ...(r.key === null ? {} : { key: r.key }),
              value: r.value,
              headers: { ...r.headers },
            })),
          });
        },
        async close() {
          const closing = producer;
          producer = undefined;
          await closing?.close();
        },
      };
    },
    async consumer(options) {
      const consumer = new Consumer({
        ...base,
        groupId: options.groupId,
        sessionTimeout: options.sessionTimeoutMs,
        heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeoutMs / 10)),
        // The group waits this long for members to rejoin; the broker's minimum is the session timeout.
        rebalanceTimeout: options.sessionTimeoutMs,
        maxWaitTime: options.maxWaitMs,
        autocommit: false,
        deserializers: {
          key: stringDeserializer,
          headerKey: stringDeserializer,
          headerValue: stringDeserializer,
        },
      });
      // The library connects on the first request; ask one so a bad address fails here, as with kafkajs.
      await consumer.metadata({ topics: [...options.topics] });
      return streamConsumer(consumer, options.topics, options.fromBeginning, warn);
    },
  };
};
