import { Kafka, logLevel as KafkaLogLevel, Partitioners } from 'kafkajs';
import type { Admin, Consumer, Producer, logCreator as LogCreator } from 'kafkajs';
import type { SASLOptions } from 'kafkajs';
import {
  consumerSpanParent,
  detached,
  extractTraceContext,
  injectSpan,
  messageParent,
  meter,
  recordFailure,
  SpanKind,
  tracer,
  withSpan,
} from '@comms/telemetry';
import type { Counter, Histogram, ObservableCallback, TraceRelation } from '@comms/telemetry';
import { parseBrokers } from './brokers.js';
import { mskIamToken } from './connection.js';
import type { KafkaAuth } from './connection.js';

/**
 * The project's Kafka adapter. Everything that talks to Kafka goes through
 * these types, so the client library (kafkajs today) can be swapped in one
 * package without touching the services.
 */

/** How to reach the cluster. */
export interface KafkaConfig {
  /** `host:port` entries, as parsed by {@link parseBrokers}. */
  readonly brokers: readonly string[];
  /** Identifies this process in broker logs and quotas. */
  readonly clientId: string;
  /** Milliseconds to wait for a TCP connection. Default 3000. */
  readonly connectionTimeoutMs?: number;
  /** Retries of a failed request or connection before giving up. Default: the client library's. */
  readonly retries?: number;
  /** TLS to the brokers. Default false. */
  readonly ssl?: boolean;
  /** Authentication; see {@link kafkaConnectionFromEnv}. Default none. */
  readonly sasl?: KafkaAuth;
  /** Receives the client library's warnings and errors. Default: dropped. */
  readonly log?: (entry: { level: 'error' | 'warn'; message: string }) => void;
}

/** A topic to create if it does not exist yet. */
export interface TopicSpec {
  readonly topic: string;
  /** Default 3. */
  readonly partitions?: number;
  /** Default 1 (one broker). */
  readonly replicationFactor?: number;
}

/** A record to publish. */
export interface OutgoingMessage {
  /** Records with the same key go to the same partition, in order. */
  readonly key: string | null;
  readonly value: string | Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A record as a consumer receives it. */
export interface IncomingMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: string;
}

/** Creates and deletes topics. */
export interface KafkaAdmin {
  /** Creates the topics that are missing and waits until they have leaders. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  listTopics(): Promise<string[]>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** A consumer group's committed offset per partition of `topic` (-1: none yet). */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, number>>;
  close(): Promise<void>;
}

/**
 * Publishes records; acknowledged by every in-sync replica. A failed send
 * drops the connection, and the next send connects again, so a producer
 * outlives a broker restart.
 */
export interface KafkaProducer {
  connect(): Promise<void>;
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** Options for {@link KafkaClient.consumer}. */
export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts. Default true. */
  readonly fromBeginning?: boolean;
  /** How long the group waits for a silent member before rebalancing. Default 30000. */
  readonly sessionTimeoutMs?: number;
  /**
   * How many of this member's partitions are handled at once. Order is kept
   * within each partition (so per key); messages of different partitions may
   * be handled side by side. Default 1.
   */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * How the span of handling a message relates to the span that produced it:
   * `child` (one trace from the original request to this handler) or `link`
   * (a new trace that links to the producer's). Default `child`.
   */
  readonly traceRelation?: TraceRelation;
  /**
   * Longest a fetch waits at the broker for new messages. Closing the
   * consumer waits for the fetch in flight, so this also bounds how long a
   * close takes. Default 500 (kafkajs' own default, 5000, held a service's
   * SIGTERM for five seconds).
   */
  readonly maxWaitMs?: number;
}

/** How far a consumer group is behind on one partition. */
export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Next offset the group will read (-1: nothing committed yet). */
  readonly committed: number;
  /** Offset after the last message in the partition. */
  readonly end: number;
  readonly lag: number;
}

/** Lets a long-running handler keep its group membership alive, and see the consumer stop. */
export interface MessageControl {
  heartbeat(): Promise<void>;
  /**
   * Aborted when the consumer starts closing. A handler that is waiting
   * (for a dependency to return) should give up by throwing: the message is
   * then not committed, and is redelivered to whoever consumes next.
   */
  readonly signal: AbortSignal;
}

/**
 * A consumer in a group. `run` calls the handler one message at a time per
 * partition and commits a message's offset only after its handler resolved,
 * so a crash redelivers instead of losing (at-least-once). `close` stops
 * fetching, lets the message in hand finish, commits and leaves the group.
 */
export interface KafkaConsumer {
  run(handler: (message: IncomingMessage, control: MessageControl) => Promise<void>): Promise<void>;
  /** True once the consumer has joined its group and while it has not crashed or stopped. */
  joined(): boolean;
  /** The partitions this member was assigned in the last rebalance. */
  assignment(): Readonly<Record<string, readonly number[]>>;
  /** Lag of the whole group, per partition of the subscribed topics. */
  lag(): Promise<PartitionLag[]>;
  close(): Promise<void>;
}

/** Entry point of the adapter: one per process and cluster. */
export interface KafkaClient {
  readonly brokers: readonly string[];
  admin(): Promise<KafkaAdmin>;
  /**
   * A producer. By default it connects before resolving; with `lazy` it
   * connects on the first send, so a service can start while Kafka is down.
   */
  producer(options?: {
    readonly idempotent?: boolean;
    readonly lazy?: boolean;
  }): Promise<KafkaProducer>;
  consumer(options: ConsumerOptions): Promise<KafkaConsumer>;
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

/** Creates the adapter for a cluster. Validates the broker list first. */
export function createKafka(config: KafkaConfig): KafkaClient {
  const brokers = parseBrokers(config.brokers.join(','));
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers,
    connectionTimeout: config.connectionTimeoutMs ?? 3_000,
    ...(config.retries === undefined ? {} : { retry: { retries: config.retries } }),
    logLevel: KafkaLogLevel.WARN,
    logCreator: toLogCreator(config.log),
    ssl: config.ssl ?? false,
    ...(config.sasl === undefined ? {} : { sasl: toSasl(config.sasl) }),
  });

  return {
    brokers,
    async admin() {
      const admin = kafka.admin();
      await admin.connect();
      return wrapAdmin(admin);
    },
    async producer(options) {
      const idempotent = options?.idempotent ?? true;
      const producer = kafka.producer({
        idempotent,
        // An idempotent producer keeps order with one request in flight.
        maxInFlightRequests: idempotent ? 1 : 5,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      const wrapped = wrapProducer(producer, kafkaMetrics());
      if (options?.lazy !== true) await wrapped.connect();
      return wrapped;
    },
    async consumer(options) {
      const consumer = kafka.consumer({
        groupId: options.groupId,
        sessionTimeout: options.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: Math.max(500, Math.floor((options.sessionTimeoutMs ?? 30_000) / 10)),
        maxWaitTimeInMs: options.maxWaitMs ?? 500,
      });
      await consumer.connect();
      await consumer.subscribe({
        topics: [...options.topics],
        fromBeginning: options.fromBeginning ?? true,
      });
      return wrapConsumer(consumer, options, () => kafka.admin(), kafkaMetrics());
    },
  };
}

function wrapAdmin(admin: Admin): KafkaAdmin {
  return {
    async ensureTopics(specs) {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((spec) => !existing.has(spec.topic));
      if (missing.length > 0) {
        // kafkajs's own waitForLeaders gives up when a freshly created topic
        // is briefly unknown to the broker that answers (KRaft propagates
        // metadata asynchronously), so wait for the leaders here instead.
        await admin.createTopics({
          waitForLeaders: false,
          topics: missing.map((spec) => ({
            topic: spec.topic,
            numPartitions: spec.partitions ?? 3,
            replicationFactor: spec.replicationFactor ?? 1,
          })),
        });
      }
      await waitForLeaders(
        admin,
        specs.map((spec) => spec.topic),
      );
    },
    listTopics: () => admin.listTopics(),
    async deleteTopics(topics) {
      await admin.deleteTopics({ topics: [...topics] });
    },
    async committedOffsets(groupId, topic) {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map((offsets?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    },
    close: () => admin.disconnect(),
  };
}

const TOPIC_READY_TIMEOUT_MS = 30_000;
const RETRIABLE_METADATA_ERRORS = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/** Resolves once every partition of every topic has a leader; a deadline otherwise. */
async function waitForLeaders(admin: Admin, topics: readonly string[]): Promise<void> {
  const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
  let lastProblem = 'no metadata yet';
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
      const leaderless = metadata.flatMap((topic) =>
        topic.partitions
          .filter((partition) => partition.leader < 0)
          .map((partition) => `${topic.name}/${String(partition.partitionId)}`),
      );
      if (metadata.length === topics.length && leaderless.length === 0) return;
      lastProblem = `partitions without a leader: ${leaderless.join(', ') || 'topic missing'}`;
    } catch (error) {
      const type = (error as { type?: unknown }).type;
      if (typeof type !== 'string' || !RETRIABLE_METADATA_ERRORS.has(type)) throw error;
      lastProblem = type;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `topics ${topics.join(', ')} not ready after ${String(TOPIC_READY_TIMEOUT_MS)} ms (${lastProblem})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface KafkaMetrics {
  readonly sent: Counter;
  readonly consumed: Counter;
  readonly processDuration: Histogram;
}

function kafkaMetrics(): KafkaMetrics {
  const m = meter();
  return {
    sent: m.createCounter('messaging.client.sent.messages', {
      description: 'Messages sent to Kafka (acknowledged or failed, see error.type).',
    }),
    consumed: m.createCounter('messaging.client.consumed.messages', {
      description: 'Messages handed to a handler.',
    }),
    processDuration: m.createHistogram('messaging.process.duration', {
      unit: 's',
      description: 'Time a handler took per message.',
    }),
  };
}

function wrapProducer(producer: Producer, metrics: KafkaMetrics): KafkaProducer {
  let connected: Promise<void> | undefined;
  const connect = () => {
    connected ??= producer.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    return connected;
  };
  return {
    connect,
    async send(topic, messages) {
      // A PRODUCER span per message, under the trace the message was written
      // in (its headers) or else the caller's, and carried on in its headers.
      const attributes = {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': topic,
      };
      const traced = messages.map((m) => {
        const parent = messageParent(m.headers);
        const span = tracer().startSpan(
          `send ${topic}`,
          {
            kind: SpanKind.PRODUCER,
            attributes: {
              ...attributes,
              ...(m.key === null ? {} : { 'messaging.kafka.message.key': m.key }),
            },
          },
          parent,
        );
        const headers: Record<string, string> = { ...m.headers };
        injectSpan(headers, span, parent);
        return { span, message: { key: m.key, value: m.value, headers } };
      });
      try {
        await connect();
        await producer.send({ topic, acks: -1, messages: traced.map((t) => t.message) });
        metrics.sent.add(messages.length, attributes);
      } catch (error) {
        for (const { span } of traced) recordFailure(span, error);
        metrics.sent.add(messages.length, {
          ...attributes,
          'error.type': error instanceof Error ? error.name : 'Error',
        });
        // Start from a fresh connection next time; the caller retries.
        connected = undefined;
        await producer.disconnect().catch(() => undefined);
        throw error;
      } finally {
        for (const { span } of traced) span.end();
      }
    },
    async close() {
      connected = undefined;
      await producer.disconnect();
    },
  };
}

function wrapConsumer(
  consumer: Consumer,
  options: ConsumerOptions,
  newAdmin: () => Admin,
  metrics: KafkaMetrics,
): KafkaConsumer {
  const relation = options.traceRelation ?? 'child';
  let joined = false;
  let assignment: Record<string, number[]> = {};
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    joined = true;
    assignment = event.payload.memberAssignment;
  });
  for (const gone of [consumer.events.CRASH, consumer.events.STOP, consumer.events.DISCONNECT]) {
    consumer.on(gone, () => {
      joined = false;
    });
  }
  let admin: Admin | undefined;
  const closing = new AbortController();
  const lagGauge = meter().createObservableGauge('comms.kafka.consumer.lag', {
    description: 'Messages the consumer group has not yet committed, per topic and partition.',
  });
  let cachedLag: { at: number; value: Promise<PartitionLag[]> } | undefined;
  // Read when metrics are collected (a scrape), at most once a second.
  const observeLag: ObservableCallback = async (result) => {
    if (cachedLag === undefined || Date.now() - cachedLag.at > 1_000)
      cachedLag = { at: Date.now(), value: detached(() => wrapped.lag()) };
    const partitions = await cachedLag.value.catch(() => []);
    for (const p of partitions)
      result.observe(p.lag, {
        'messaging.destination.name': p.topic,
        'messaging.destination.partition.id': String(p.partition),
        'messaging.consumer.group.name': options.groupId,
      });
  };
  lagGauge.addCallback(observeLag);
  const wrapped: KafkaConsumer = {
    joined: () => joined,
    assignment: () => assignment,
    async lag() {
      if (admin === undefined) {
        admin = newAdmin();
        await admin.connect();
      }
      const result: PartitionLag[] = [];
      const committed = await admin.fetchOffsets({
        groupId: options.groupId,
        topics: [...options.topics],
      });
      for (const { topic, partitions } of committed) {
        const ends = await admin.fetchTopicOffsets(topic);
        for (const p of partitions) {
          const end = Number(ends.find((e) => e.partition === p.partition)?.high ?? 0);
          const low = Number(ends.find((e) => e.partition === p.partition)?.low ?? 0);
          const at = Number(p.offset);
          result.push({
            topic,
            partition: p.partition,
            committed: at,
            end,
            lag: Math.max(0, end - (at < 0 ? low : at)),
          });
        }
      }
      return result;
    },
    async run(handler) {
      await consumer.run({
        autoCommit: true,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
        eachMessage: async (payload) => {
          const { topic, partition, message } = payload;
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) {
            if (value === undefined) continue;
            headers[name] = Array.isArray(value) ? String(value.at(-1)) : String(value);
          }
          // A CONSUMER span per message, child of or linked to the producer's span.
          const attributes = {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'process',
            'messaging.destination.name': topic,
            'messaging.consumer.group.name': options.groupId,
          };
          const { parent, links } = consumerSpanParent(extractTraceContext(headers), relation);
          const span = tracer().startSpan(
            `process ${topic}`,
            {
              kind: SpanKind.CONSUMER,
              links,
              attributes: {
                ...attributes,
                'messaging.destination.partition.id': String(partition),
                'messaging.kafka.offset': Number(message.offset),
              },
            },
            parent,
          );
          const started = performance.now();
          let failed: string | undefined;
          try {
            await withSpan(span, () =>
              handler(
                {
                  topic,
                  partition,
                  offset: message.offset,
                  key: message.key === null ? null : message.key.toString('utf8'),
                  value: message.value,
                  headers,
                  timestamp: message.timestamp,
                },
                { heartbeat: () => payload.heartbeat(), signal: closing.signal },
              ),
            );
          } catch (error) {
            failed = error instanceof Error ? error.name : 'Error';
            recordFailure(span, error);
            throw error;
          } finally {
            span.end();
            const outcome =
              failed === undefined ? attributes : { ...attributes, 'error.type': failed };
            metrics.consumed.add(1, outcome);
            metrics.processDuration.record((performance.now() - started) / 1000, outcome);
          }
        },
      });
    },
    async close() {
      closing.abort();
      lagGauge.removeCallback(observeLag);
      await consumer.disconnect();
      await admin?.disconnect().catch(() => undefined);
    },
  };
  return wrapped;
}
