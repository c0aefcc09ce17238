import { keepTopics } from '@comms/kafka';
import type { KafkaClient, KafkaProducer, TopicKeeper, TopicSpec } from '@comms/kafka';
import { startOutboxRelay } from '@comms/outbox';
import type { OutboxRelay } from '@comms/outbox';
import { migrate } from '@comms/postgres';
import type { Migration, Pool } from '@comms/postgres';
import type { Adapter } from './bootstrap.js';

/**
 * The adapters the services share, as the service bootstrap takes them.
 * Each service lists the ones it uses, in start order; these are written
 * once here, so a service's main.ts says what it runs, not how.
 */

type Log = {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
};

/** Flushes the last spans and metrics; last to close. */
export function telemetryAdapter(telemetry?: { shutdown(): Promise<void> }): Adapter {
  return {
    name: 'telemetry',
    closing: 'send the last spans and metrics',
    close: () => telemetry?.shutdown(),
  };
}

/** Runs the service's migrations at start; `/readyz` key `database`; closes the pool. */
export function databaseAdapter(
  pool: Pool,
  migrations: readonly Migration[],
  logger: Log,
): Adapter {
  return {
    name: 'database',
    closing: 'close the database pool',
    start: async () => {
      const applied = await migrate(pool, migrations);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    },
    close: () => pool.end(),
    ready: async () => {
      await pool.query('SELECT 1');
    },
  };
}

/** The Kafka side of a service that publishes through the transactional outbox. */
export interface OutboxPublishing {
  /** `kafka` (a lazy idempotent producer and the topics, kept while Kafka is away), then `outbox` (the relay). */
  readonly adapters: readonly [Adapter, Adapter];
  /** The relay once started; wake it after a commit that wrote outbox rows. */
  relay(): OutboxRelay | undefined;
}

/**
 * A producer that connects on first send (so the service starts while Kafka
 * is down), the topics created in the background until Kafka answers (its
 * `/readyz` key `kafka`), and the outbox relay on top; closed relay first
 * (it flushes), then the producer.
 */
export function outboxPublishing(options: {
  readonly kafka: KafkaClient;
  readonly topics: readonly TopicSpec[];
  readonly pool: Pool;
  readonly pollMs: number;
  readonly logger: Log & { error(obj: unknown, msg?: string): void };
}): OutboxPublishing {
  let producer: KafkaProducer | undefined;
  let topics: TopicKeeper | undefined;
  let relay: OutboxRelay | undefined;
  const { logger } = options;
  return {
    relay: () => relay,
    adapters: [
      {
        name: 'kafka',
        closing: 'close Kafka',
        start: async () => {
          producer = await options.kafka.producer({ idempotent: true, lazy: true });
          topics = keepTopics(options.kafka, options.topics, (error) =>
            logger.warn({ err: error }, 'Kafka not reachable yet; retrying'),
          );
        },
        close: async () => {
          await topics?.close();
          await producer?.close().catch(() => undefined);
        },
        ready: () => topics?.check() ?? Promise.reject(new Error('not started')),
      },
      {
        name: 'outbox',
        closing: 'flush the outbox',
        start: () => {
          if (producer === undefined) throw new Error('the outbox relay needs the Kafka producer');
          relay = startOutboxRelay({
            pool: options.pool,
            producer,
            pollMs: options.pollMs,
            log: logger,
          });
        },
        close: () => relay?.stop(),
      },
    ],
  };
}
