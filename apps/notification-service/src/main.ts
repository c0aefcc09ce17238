import { createKafka, keepTopics } from '@comms/kafka';
import type { KafkaConsumer } from '@comms/kafka';
import { createPool, migrate } from '@comms/postgres';
import { createLogger, handleShutdown } from '@comms/service-kit';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { startConsumer } from './consumer.js';
import { createFeed } from './feed.js';
import { MIGRATIONS } from './migrations.js';
import { createProcessor } from './processor.js';
import { createRecipients } from './recipients.js';

/** Wires notification-service from its configuration and starts consuming and serving. */
export async function startNotificationService(
  config: Config,
  options: { readonly telemetry?: { shutdown(): Promise<void> } } = {},
) {
  const logger = createLogger('notification-service', config.LOG_LEVEL);
  const pool = createPool({
    url: config.DATABASE_URL,
    applicationName: 'notification-service',
    onError: (error) => logger.warn({ err: error }, 'database connection failed'),
  });
  const applied = await migrate(pool, MIGRATIONS);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');

  const kafka = createKafka({
    ...config.kafka,
    clientId: 'notification-service',
    log: ({ level, message }) => logger[level]({ component: 'kafka' }, message),
  });
  const topics = keepTopics(
    kafka,
    [config.USERS_TOPIC, config.ORDERS_TOPIC, config.DLQ_TOPIC].map((topic) => ({
      topic,
      partitions: 3,
    })),
    (error) => logger.warn({ err: error }, 'Kafka not reachable yet; retrying'),
  );
  const producer = await kafka.producer({ idempotent: true, lazy: true });
  const recipients = createRecipients({
    pool,
    userServiceUrl: config.userServiceHttp,
    timeoutMs: config.USER_CALL_TIMEOUT_MS,
    logger,
  });
  const processor = createProcessor({ pool, recipients });
  const feed = createFeed({ databaseUrl: config.DATABASE_URL, logger });

  // Join the group once the topics exist; keep trying while Kafka is away.
  let consumer: KafkaConsumer | undefined;
  let stopping = false;
  let joinTimer: NodeJS.Timeout | undefined;
  let joinFailures = 0;
  const join = async () => {
    try {
      await topics.check();
      consumer = await startConsumer({
        kafka,
        producer,
        processor,
        logger,
        config: {
          group: config.CONSUMER_GROUP,
          topics: [config.USERS_TOPIC, config.ORDERS_TOPIC],
          dlqTopic: config.DLQ_TOPIC,
          maxAttempts: config.MAX_ATTEMPTS,
          retryBaseMs: config.RETRY_BASE_MS,
          maxEventBytes: config.MAX_EVENT_BYTES,
          concurrency: config.CONSUMER_CONCURRENCY,
          traceRelation: config.TELEMETRY_KAFKA_CONSUMER_RELATION,
        },
      });
    } catch (error) {
      joinFailures += 1;
      // Kafka often needs a moment at startup; say so only when it lasts.
      if (joinFailures > 3)
        logger.warn({ err: error }, 'cannot join the consumer group yet; retrying');
      if (!stopping) joinTimer = setTimeout(() => void join(), 1_000);
    }
  };
  void join();

  const pendingTimer = setInterval(() => {
    processor
      .retryPending()
      .catch((error: unknown) => logger.warn({ err: error }, 'retrying pending events failed'));
  }, config.PENDING_RETRY_MS);

  const app = await buildApp({
    pool,
    feed,
    consumer: () => consumer,
    group: config.CONSUMER_GROUP,
    logger,
    readiness: {
      database: async () => {
        await pool.query('SELECT 1');
      },
      consumer: () =>
        consumer?.joined() === true
          ? Promise.resolve()
          : Promise.reject(new Error('not in the consumer group')),
    },
  });
  await app.listen({ host: config.HOST, port: config.PORT });
  logger.info({ http: config.PORT, group: config.CONSUMER_GROUP }, 'notification-service ready');

  const shutdown = handleShutdown({
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    log: logger,
    steps: [
      {
        // First, so that live streams end at once (their clients reconnect,
        // elsewhere, with Last-Event-ID) rather than after the consumer has left.
        name: 'close HTTP, its live streams and the feed',
        run: async () => {
          await app.close();
          await feed.close();
        },
      },
      {
        // Stop fetching, finish the message in hand, commit, leave the group.
        name: 'leave the consumer group',
        run: async () => {
          stopping = true;
          clearTimeout(joinTimer);
          clearInterval(pendingTimer);
          await consumer?.close();
        },
      },
      {
        name: 'close Kafka',
        run: async () => {
          await topics.close();
          await producer.close().catch(() => undefined);
        },
      },
      { name: 'close the database pool', run: () => pool.end() },
      {
        name: 'send the last spans and metrics',
        run: () => options.telemetry?.shutdown() ?? Promise.resolve(),
      },
    ],
  });
  return { app, pool, processor, consumer: () => consumer, shutdown };
}
