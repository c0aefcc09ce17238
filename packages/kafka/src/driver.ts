import type { IncomingMessage, KafkaConfig } from './port.js';

/**
 * What a Kafka client library must provide for `createKafka` to build the
 * port (port.ts) on it. Deliberately small and plain: raw admin calls, a
 * send, and a loop that hands over messages one at a time per partition.
 * Everything the project adds on top (waiting for topic leaders, the
 * producer's reconnect, PRODUCER and CONSUMER spans, metrics, lag) is
 * written once, above this line, and so works the same on every library.
 */
export interface KafkaDriver {
  /** The library's name, for logs ("kafkajs"). */
  readonly name: string;
  admin(): Promise<DriverAdmin>;
  producer(options: { readonly idempotent: boolean }): DriverProducer;
  consumer(options: DriverConsumerOptions): Promise<DriverConsumer>;
  /**
   * True for an error that means a topic's metadata has not reached every
   * broker yet (unknown topic, no leader): worth asking again shortly.
   */
  isTransientMetadataError(error: unknown): boolean;
}

/** Builds a driver for one cluster. */
export type DriverFactory = (config: KafkaConfig, brokers: readonly string[]) => KafkaDriver;

/** A partition of a topic and its leader's broker id (-1: none yet). */
export interface PartitionLeader {
  readonly partition: number;
  readonly leader: number;
}

export interface DriverAdmin {
  /** Creates the topics; does not wait for their leaders. */
  createTopics(
    specs: ReadonlyArray<{ topic: string; partitions: number; replicationFactor: number }>,
  ): Promise<void>;
  listTopics(): Promise<string[]>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** Each topic's partitions with their leaders; may throw a transient metadata error. */
  partitionLeaders(
    topics: readonly string[],
  ): Promise<ReadonlyArray<{ topic: string; partitions: readonly PartitionLeader[] }>>;
  /** The group's committed offset per partition of each topic (-1: none yet). */
  committedOffsets(
    groupId: string,
    topics: readonly string[],
  ): Promise<ReadonlyArray<{ topic: string; partition: number; offset: number }>>;
  /** First and next-to-be-written offsets of each partition of a topic. */
  topicOffsets(
    topic: string,
  ): Promise<ReadonlyArray<{ partition: number; low: number; high: number }>>;
  close(): Promise<void>;
}

/** A record as the driver sends it: headers are plain strings. */
export interface DriverRecord {
  readonly key: string | null;
  readonly value: string | Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface DriverProducer {
  connect(): Promise<void>;
  /** Sends and resolves once every in-sync replica has the records (acks = all). */
  send(topic: string, records: readonly DriverRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface DriverConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  readonly maxWaitMs: number;
}

/**
 * A message as the driver delivers it: exactly what handlers get (header
 * values are the last of each name, as text), so it is the port's type.
 */
export type DriverMessage = IncomingMessage;

export interface DriverConsumer {
  /**
   * Calls `each` for every message, one at a time per partition and up to
   * `concurrency` partitions at once, committing a message's offset only
   * after `each` resolved. A rejection is not committed: the driver hands
   * the message over again, as the library does.
   */
  run(
    each: (message: DriverMessage, heartbeat: () => Promise<void>) => Promise<void>,
    concurrency: number,
  ): Promise<void>;
  /**
   * Like `run`, but hands over the messages fetched for one partition
   * together: up to `maxBatch` of them in offset order, the next batch of
   * that partition only after `each` resolved, and the offsets committed
   * after it. A rejection hands the same batch over again.
   */
  runBatches(
    each: (messages: readonly DriverMessage[], heartbeat: () => Promise<void>) => Promise<void>,
    concurrency: number,
    maxBatch: number,
  ): Promise<void>;
  /** Told the partitions of this member after each rebalance. */
  onJoin(listener: (assignment: Record<string, number[]>) => void): void;
  /** Told when the member stopped, crashed or lost its connection. */
  onLeave(listener: () => void): void;
  /** Stops fetching, lets the message in hand finish, commits and leaves the group. */
  close(): Promise<void>;
}
