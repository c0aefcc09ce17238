import type { TraceRelation } from '@comms/telemetry';
import type { KafkaAuth, KafkaClientName } from './connection.js';

/**
 * The port: the types every service uses to talk to Kafka. Nothing here
 * names a client library; `createKafka` builds these from a {@link
 * KafkaDriver} (see driver.ts), so a second library fits behind the same
 * types without a service noticing.
 */

/** How to reach the cluster. */
export interface KafkaConfig {
  /** `host:port` entries, as parsed by {@link parseBrokers}. */
  readonly brokers: readonly string[];
  /** Identifies this process in broker logs and quotas. */
  readonly clientId: string;
  /**
   * The client library to run on, as `KAFKA_CLIENT` names it (a
   * `KafkaConnection` spread into the config carries it). Default
   * kafkajs. A driver passed to `createKafka` wins over it.
   */
  readonly client?: KafkaClientName;
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

/** Where a partition's records begin and end. */
export interface PartitionOffsets {
  readonly partition: number;
  /** The first offset still kept. */
  readonly low: number;
  /** The high watermark: the offset the next record will get. */
  readonly high: number;
}

/** Creates and deletes topics, and reads their offsets. */
export interface KafkaAdmin {
  /** Creates the topics that are missing and waits until they have leaders. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  listTopics(): Promise<string[]>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** A consumer group's committed offset per partition of `topic` (-1: none yet). */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, number>>;
  /**
   * Each partition of `topic`, in partition order, with its first offset
   * still kept (`low`) and its high watermark (`high`, the offset the next
   * record gets): `high - low` records are on the partition.
   */
  topicOffsets(topic: string): Promise<PartitionOffsets[]>;
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

/** What a batch handler gets besides {@link MessageControl}. */
export interface BatchControl extends MessageControl {
  /**
   * Runs `work` in the CONSUMER span of one message of the batch, so what
   * is that message's alone (its log lines, its own retries, its calls)
   * joins its trace; what the batch does together runs in the batch's span.
   */
  within<T>(message: IncomingMessage, work: () => Promise<T>): Promise<T>;
}

/**
 * A consumer in a group. `run` calls the handler one message at a time per
 * partition and commits a message's offset only after its handler resolved,
 * so a crash redelivers instead of losing (at-least-once). `close` stops
 * fetching, lets the message in hand finish, commits and leaves the group.
 */
export interface KafkaConsumer {
  run(handler: (message: IncomingMessage, control: MessageControl) => Promise<void>): Promise<void>;
  /**
   * Instead of `run`: hands over the messages fetched for one partition
   * together, up to `maxBatch` (default 100) in offset order, so a handler
   * can store them in one transaction. The same guarantees per batch: the
   * next batch of a partition comes after the handler resolved, offsets
   * are committed only then, and a rejection hands the same batch over
   * again. Each message still gets its CONSUMER span.
   */
  runBatches(
    handler: (messages: readonly IncomingMessage[], control: BatchControl) => Promise<void>,
    options?: { readonly maxBatch?: number },
  ): Promise<void>;
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
